import { fileURLToPath } from 'node:url';
import { defineConfig } from 'tsup';
import { nodeBundle } from '../../scripts/node-bundle.js';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * dist/cli.js for `pnpm dev:cloud`: one file, like runsd and the services, but
 * for PGlite, which loads its WebAssembly from beside its own module, and
 * node-postgres, which the migrator drives it with: both stay imports.
 */
export default defineConfig(
  nodeBundle({
    entry: { cli: here('./src/cli.ts') },
    outDir: here('./dist'),
    noExternal: [/^(?!(@electric-sql\/pglite(-socket)?|pg)(\/|$))/],
    external: ['@electric-sql/pglite', '@electric-sql/pglite-socket', 'pg'],
  }),
);
