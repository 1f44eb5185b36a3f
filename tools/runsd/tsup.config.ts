import { fileURLToPath } from 'node:url';
import { defineConfig } from 'tsup';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * Two self-contained files side by side: dist/runsd.js (the entrypoint) and
 * dist/preload.js, which runsd finds next to itself and hands to Node apps.
 */
export default defineConfig({
  entry: { runsd: here('./src/cli.ts'), preload: here('./src/preload.ts') },
  outDir: here('./dist'),
  format: 'esm',
  platform: 'node',
  target: 'node20',
  noExternal: [/.*/],
  splitting: false,
  banner: { js: "import { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);" },
  clean: true,
});
