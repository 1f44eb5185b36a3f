import { fileURLToPath } from 'node:url';
import { defineConfig } from 'tsup';
import { nodeBundle, oneLineReport } from '../../scripts/node-bundle.js';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * dist/migrate.js: the migration job that deploy/assemble-image.mjs puts in
 * the image of a service with a database. One file, node-postgres inside.
 */
export default defineConfig((flags) =>
  nodeBundle({
    entry: { migrate: here('./src/migrate-job.ts') },
    outDir: here('./dist'),
    splitting: false,
    ...oneLineReport('migrate', flags),
  }),
);
