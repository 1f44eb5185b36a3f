import { fileURLToPath } from 'node:url';
import { defineConfig } from 'tsup';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * dist/runsd.js (the entrypoint) and dist/preload.js, which runsd finds next
 * to itself and hands to Node apps, with the chunks they share. Minified:
 * runsd is on every cold start's path, and compiling less code starts faster.
 */
export default defineConfig({
  entry: { runsd: here('./src/cli.ts'), preload: here('./src/preload.ts') },
  outDir: here('./dist'),
  format: 'esm',
  platform: 'node',
  target: 'node20',
  noExternal: [/.*/],
  // gcp-metadata and its HTTP stack load only when a token or the region is first needed: a chunk of their own.
  splitting: true,
  minify: true,
  sourcemap: true,
  banner: { js: "import { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);" },
  clean: true,
});
