import { fileURLToPath } from 'node:url';
import { defineConfig } from 'tsup';
import { nodeBundle } from '../scripts/node-bundle.js';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** deploy/dist/cli.js, self-contained, for `pnpm deploy:all` and `pnpm deploy:one`. */
export default defineConfig(nodeBundle({ entry: { cli: here('./src/cli.ts') }, outDir: here('./dist') }));
