import { fileURLToPath } from 'node:url';
import { defineConfig } from 'tsup';
import { nodeBundle } from '../../scripts/node-bundle.js';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * dist/cli.js for `pnpm dev` and `pnpm start`, and dist/build-worker.js, the
 * thread it builds bundles in. The build and code-generation tools (tsup,
 * esbuild, TypeScript) stay imports of the installed packages: they are big,
 * and already there.
 */
export default defineConfig(
  nodeBundle({
    entry: { cli: here('./src/cli.ts'), 'build-worker': here('./src/build-worker.ts') },
    outDir: here('./dist'),
    noExternal: [/^(?!(tsup|esbuild|typescript)(\/|$))/],
    external: ['tsup', 'esbuild', 'typescript'],
  }),
);
