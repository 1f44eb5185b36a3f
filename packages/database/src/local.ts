import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { databasePoolSize } from '@taco-run/project/manifest';
import type { Service } from '@taco-run/project/services';
import { type EmbeddedPostgres, startEmbeddedPostgres } from './embedded.js';
import { MigrationError, migrate, shippedMigrations } from './migrate.js';

/**
 * A service's database on this machine, as `pnpm dev`, `pnpm start` and
 * `pnpm dev:cloud` give it: its own, embedded (PGlite), or one the developer runs.
 */
export interface LocalDatabase {
  service: Service;
  /** The migrations folder, from the project's root. */
  migrations: string;
  /** What the service gets as DATABASE_URL. */
  url: string;
  /** Where the data lives, in words, for the first lines of `pnpm dev`. */
  where: string;
  close(): Promise<void>;
}

/** services/<name>/.database: git-ignored, the embedded database's data, kept between runs. */
export function dataFolder(root: string, service: Service): string {
  return join(root, service.dir, '.database');
}

/** Connections the embedded server takes beyond the service's pool: the console's and psql's. */
const toolConnections = 2;

/** What a running dev runner says of the database it serves, for `pnpm db:psql`. */
const servingFile = 'serving.json';

/** The URL a running `pnpm dev` serves a service's embedded database at, if one does. */
export function servedUrl(root: string, service: Service): string | undefined {
  const file = join(dataFolder(root, service), servingFile);
  if (!existsSync(file)) return undefined;
  try {
    const { url, pid } = JSON.parse(readFileSync(file, 'utf8')) as { url: string; pid: number };
    process.kill(pid, 0);
    return url;
  } catch {
    // A dev runner that died without removing it, or a file that is not ours.
    return undefined;
  }
}

/** The variable that hands one service a PostgreSQL of the developer's own: TACOSERVER_DATABASE_URL. */
export function ownDatabaseVariable(service: Service): string {
  return `${service.name.toUpperCase().replaceAll('-', '_')}_DATABASE_URL`;
}

/**
 * The database a service with one gets here. A PostgreSQL the developer
 * runs, named by <NAME>_DATABASE_URL (or DATABASE_URL, when only one
 * service has a database: one URL cannot be two services' own), comes
 * first; else PGlite, with its data in services/<name>/.database, served
 * on a free loopback port to as many connections as the service's pool
 * holds, and two more for the tools that look at it.
 */
export async function openLocalDatabase(
  root: string,
  service: Service,
  env: NodeJS.ProcessEnv,
  withDatabases: number,
): Promise<LocalDatabase> {
  const migrations = join(service.dir, service.database?.migrations ?? 'migrations');
  const own = env[ownDatabaseVariable(service)] ?? (withDatabases === 1 ? env.DATABASE_URL : undefined);
  if (own !== undefined && own !== '') {
    return { service, migrations, url: own, where: `${redacted(own)} (your own PostgreSQL)`, close: async () => {} };
  }
  const folder = dataFolder(root, service);
  await mkdir(folder, { recursive: true });
  let embedded: EmbeddedPostgres;
  try {
    embedded = await startEmbeddedPostgres({
      dataDir: join(folder, 'pglite'),
      // The service's pool, and one each for the dev console's Data view and `pnpm db:psql`.
      maxConnections: (databasePoolSize(service) ?? 1) + toolConnections,
    });
  } catch (error) {
    throw new Error(
      `${service.name}'s database in ${join(service.dir, '.database')} could not be opened (${(error as Error).message}); \`pnpm db:reset ${service.name}\` starts it afresh`,
    );
  }
  await writeFile(join(folder, servingFile), `${JSON.stringify({ url: embedded.url, pid: process.pid })}\n`);
  return {
    service,
    migrations,
    url: embedded.url,
    where: `PGlite in ${join(service.dir, '.database')}, at ${embedded.url}`,
    async close() {
      await rm(join(folder, servingFile), { force: true });
      await embedded.close();
    },
  };
}

/**
 * Opens the database of each service that has one, in order, telling
 * `onOpened` of each as it opens; when one cannot be opened, closes those
 * that were and throws, so that no service starts without its own.
 */
export async function openLocalDatabases(
  root: string,
  services: readonly Service[],
  env: NodeJS.ProcessEnv,
  onOpened: (database: LocalDatabase) => void,
): Promise<Map<string, LocalDatabase>> {
  const withDatabase = services.filter((service) => service.database !== undefined);
  const opened = new Map<string, LocalDatabase>();
  try {
    for (const service of withDatabase) {
      const database = await openLocalDatabase(root, service, env, withDatabase.length);
      opened.set(service.name, database);
      onOpened(database);
    }
  } catch (error) {
    await Promise.all([...opened.values()].map((database) => database.close()));
    throw error;
  }
  return opened;
}

/** The migrations applied now, or why the migrator stopped (a file edited after it was applied, one that fails). */
export async function migrateLocal(
  root: string,
  database: LocalDatabase,
): Promise<{ ok: true; applied: string[] } | { ok: false; problem: string }> {
  try {
    return { ok: true, applied: await migrate(database.url, { root, folder: database.migrations }) };
  } catch (error) {
    if (error instanceof MigrationError) return { ok: false, problem: error.message };
    return { ok: false, problem: `the database did not take the migrations: ${(error as Error).message}` };
  }
}

/** A URL without its password, for a log line. */
function redacted(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'DATABASE_URL';
  }
}

/**
 * Whether a service's row types may be behind its migrations: its
 * database.generated.ts lacks the checksum of one of them, or names more.
 * Only then does `pnpm dev` regenerate them as it starts, which takes
 * PGlite a few seconds.
 */
export function typesBehind(root: string, database: LocalDatabase): boolean {
  let text: string;
  try {
    text = readFileSync(join(root, database.service.dir, 'src/database.generated.ts'), 'utf8');
  } catch {
    return true;
  }
  try {
    const shipped = shippedMigrations(root, database.migrations);
    const named = text.match(/checksum: '[\da-f]{64}'/g)?.length ?? 0;
    return named !== shipped.length || shipped.some(({ checksum }) => !text.includes(checksum));
  } catch {
    // A problem with the migrations themselves, which the migrator has said already.
    return false;
  }
}
