import { fileURLToPath } from 'node:url';
import { defineConfig } from 'tsup';
import { nodeBundle } from '../../scripts/node-bundle.js';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** dist/cli.js for `pnpm new:service`: one self-contained file, like the other tools. */
export default defineConfig(nodeBundle({ entry: { cli: here('./src/cli.ts') }, outDir: here('./dist') }));
