import { fileURLToPath } from 'node:url';
import { defineConfig } from 'tsup';
import { nodeBundle } from '../../scripts/node-bundle.js';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * dist/cli.js for `pnpm dev` and `pnpm start`, dist/db.js for `pnpm db:reset`
 * and `pnpm db:psql`, and dist/build-worker.js, the thread it builds bundles in. The build and code-generation tools (tsup,
 * esbuild, TypeScript) stay imports of the installed packages: they are big,
 * and already there. So do PGlite, which loads its WebAssembly from beside
 * its own module, and node-postgres, which the migrator drives it with.
 */
export default defineConfig(
  nodeBundle({
    entry: { cli: here('./src/cli.ts'), db: here('./src/db-cli.ts'), 'build-worker': here('./src/build-worker.ts') },
    outDir: here('./dist'),
    noExternal: [/^(?!(tsup|esbuild|typescript|@electric-sql\/pglite(-socket)?|pg)(\/|$))/],
    external: ['tsup', 'esbuild', 'typescript', '@electric-sql/pglite', '@electric-sql/pglite-socket', 'pg'],
  }),
);
