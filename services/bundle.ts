import { basename, join } from 'node:path';
import type { Options } from 'tsup';
import { nodeBundle, oneLineReport } from '../scripts/node-bundle.js';

/**
 * How a service is bundled: one self-contained ESM file, dist/main.js, with
 * every dependency inside, so the container image needs the bundle and Node
 * and nothing else. `pnpm build`, the tests and the Dockerfile all use this.
 */
export function serviceBundle(serviceDir: string, flags: Options = {}): Options {
  return nodeBundle({
    entry: { main: join(serviceDir, 'src/main.ts') },
    outDir: join(serviceDir, 'dist'),
    sourcemap: true,
    esbuildOptions: (options) => {
      // Frames are mapped lazily at run time (packages/service/src/stack-traces.ts), to paths from the
      // repository's root: the map says where it was built (from dist up to the root and back, so
      // that tools that resolve sources against the map's own place still find them), and carries
      // no source text, which nothing reads.
      options.sourceRoot = `../../../services/${basename(serviceDir)}/dist/`;
      options.sourcesContent = false;
    },
    // dist/main.js wherever the build runs from (tsup would pick .mjs from a folder whose package.json is not ESM).
    outExtension: () => ({ js: '.js' }),
    ...oneLineReport(basename(serviceDir), flags),
  });
}
