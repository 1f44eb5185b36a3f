import { fileURLToPath } from 'node:url';
import { defineConfig } from 'tsup';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** dist/cli.js for `pnpm dev:cloud`: one self-contained file, like runsd and the services. */
export default defineConfig({
  entry: { cli: here('./src/cli.ts') },
  outDir: here('./dist'),
  format: 'esm',
  platform: 'node',
  target: 'node20',
  noExternal: [/.*/],
  // CommonJS dependencies require() Node's builtins; an ESM bundle needs a require to give them.
  banner: { js: "import { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);" },
  clean: true,
});
