import { fileURLToPath } from 'node:url';
import { defineConfig } from 'tsup';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** deploy/dist/cli.js, self-contained, for `pnpm deploy:all` and `pnpm deploy:one`. */
export default defineConfig({
  entry: { cli: here('./src/cli.ts') },
  outDir: here('./dist'),
  format: 'esm',
  platform: 'node',
  target: 'node20',
  noExternal: [/.*/],
  clean: true,
});
