import type pg from 'pg';

/** The table where each applied migration is recorded, with the checksum of the file as it was applied. */
export const migrationsTable = 'taco_run_migrations';

/** A migration as the service ships it: its file's name and the sha256 of its bytes, in hex. */
export interface ShippedMigration {
  file: string;
  checksum: string;
}

/** A migration as the migrator recorded it. */
export interface AppliedMigration extends ShippedMigration {
  appliedAt: Date;
}

/** The recorded migrations, in order; none before the first migration. */
export async function appliedMigrations(client: pg.ClientBase): Promise<AppliedMigration[]> {
  const exists = await client.query<{ table: string | null }>('select to_regclass($1) as table', [migrationsTable]);
  if (exists.rows[0]?.table == null) return [];
  const { rows } = await client.query<AppliedMigration>(
    `select file, checksum, applied_at as "appliedAt" from ${migrationsTable} order by file`,
  );
  return rows;
}

/** The recorded migrations, file to checksum; an empty map before the first migration. */
export async function recordedMigrations(client: pg.ClientBase): Promise<Map<string, string>> {
  return new Map((await appliedMigrations(client)).map((row) => [row.file, row.checksum]));
}

/**
 * What keeps a service from using its database: the first migration it ships
 * that the database has not recorded, or recorded from a different file. A
 * service checks this at its first connection, since its queries are written
 * against the schema that its own migrations make. Undefined when all are in.
 */
export async function unappliedMigration(
  client: pg.ClientBase,
  shipped: readonly ShippedMigration[],
): Promise<string | undefined> {
  const recorded = await recordedMigrations(client);
  for (const migration of shipped) {
    const sum = recorded.get(migration.file);
    if (sum === undefined) return `migration ${migration.file} is not applied to this database`;
    if (sum !== migration.checksum) {
      return `migration ${migration.file} was applied to this database from a different file`;
    }
  }
  return undefined;
}
