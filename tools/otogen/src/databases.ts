import { join } from 'node:path';
import { startEmbeddedPostgres } from '@taco-run/database/embedded';
import { migrate, shippedMigrations } from '@taco-run/database/migrate';
import { readSchema } from '@taco-run/database/schema';
import { databasePoolSize } from '@taco-run/project/manifest';
import { loadProject } from '@taco-run/project/services';
import { formatFiles } from './format.js';
import type { GeneratedFile } from './generate.js';
import { renderDatabaseModule } from './render/database.js';

/** Where a service's row types are written, in its own folder: no other service may read its database. */
export const databaseModule = 'src/database.generated.ts';

/**
 * database.generated.ts for each service with a database, paths relative to
 * the project's root. Each service's migrations are applied, by the migrator
 * itself, to a PostgreSQL in memory (PGlite), and the row types are read back
 * from its catalog: the types are what the SQL makes, whatever the SQL is.
 */
export async function generateDatabases(root: string): Promise<GeneratedFile[]> {
  const services = loadProject(root).services.filter((service) => service.database !== undefined);
  const files = await Promise.all(
    services.map(async (service) => {
      const folder = join(service.dir, service.database?.migrations ?? 'migrations');
      const migrations = shippedMigrations(root, folder).map(({ file, checksum }) => ({ file, checksum }));
      const postgres = await startEmbeddedPostgres({ maxConnections: 1 });
      try {
        await migrate(postgres.url, { root, folder });
        const text = renderDatabaseModule({
          service: service.name,
          folder,
          migrations,
          poolSize: databasePoolSize(service) ?? 1,
          schema: await readSchema(postgres.url),
        });
        return { path: join(service.dir, databaseModule), text };
      } finally {
        await postgres.close();
      }
    }),
  );
  return formatFiles(files, '', root);
}
