import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'tsup';
import { nodeBundle, oneLineReport } from '../../scripts/node-bundle.js';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * dist/runsd.js (the entrypoint) and dist/preload.js, which runsd finds next
 * to itself and hands to Node apps. Minified: both are on every cold start's
 * path, and compiling less code starts faster.
 *
 * Each is built on its own, since each runs in a process of its own:
 * - runsd.js is one file, what it loads on demand (the proxy, gcp-metadata)
 *   inside it and run only when first needed. Split into the chunks it
 *   shares with the preload, it spent about 13 ms resolving and linking nine
 *   modules before it could start the app (tacoserver's ENTRYPOINT on Node 26,
 *   25 alternated cold starts, paired by round).
 * - preload.js keeps undici in a chunk of its own, loaded on the app's first
 *   call: inlined, the preload is 0.7 MB that every app start would read.
 */
export default defineConfig((flags) => {
  // tsup builds the two at once, so neither may clean dist as it starts: it is emptied once, here, so that no
  // chunk of an earlier build is left to be copied into an image.
  rmSync(here('./dist'), { recursive: true, force: true });
  return [
    nodeBundle({
      entry: { runsd: here('./src/cli.ts') },
      outDir: here('./dist'),
      clean: false,
      splitting: false,
      minify: true,
      sourcemap: true,
      ...oneLineReport('runsd', flags),
    }),
    nodeBundle({
      entry: { preload: here('./src/preload.ts') },
      outDir: here('./dist'),
      clean: false,
      splitting: true,
      minify: true,
      sourcemap: true,
      ...oneLineReport('runsd preload', flags),
    }),
  ];
});
