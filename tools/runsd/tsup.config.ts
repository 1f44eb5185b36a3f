import { fileURLToPath } from 'node:url';
import { defineConfig } from 'tsup';
import { nodeBundle, oneLineReport } from '../../scripts/node-bundle.js';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * dist/runsd.js (the entrypoint) and dist/preload.js, which runsd finds next
 * to itself and hands to Node apps, with the chunks they share. Minified:
 * runsd is on every cold start's path, and compiling less code starts faster.
 */
export default defineConfig((flags) =>
  nodeBundle({
    entry: { runsd: here('./src/cli.ts'), preload: here('./src/preload.ts') },
    outDir: here('./dist'),
    // gcp-metadata and undici load only when first needed: chunks of their own.
    splitting: true,
    minify: true,
    sourcemap: true,
    ...oneLineReport('runsd', flags),
  }),
);
