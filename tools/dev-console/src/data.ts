import { appliedMigrations, migrationsTable } from '@taco-run/database/applied';
import pg from 'pg';
import type { DatabaseView, TableRows } from './views.js';

/** How many rows a table shows: its last ones, as a person checks what a request just wrote. */
export const shownRows = 20;

/**
 * Reads a service's database for the Data view, in a read-only transaction:
 * its tables with their row counts, and the migrations applied to it. A
 * database that cannot be reached says why instead.
 */
export async function describeDatabase(service: string, url: string): Promise<DatabaseView> {
  try {
    return await readOnly(url, async (client) => {
      const tables = await client.query<{ name: string }>(
        `select table_name as name from information_schema.tables
          where table_schema = 'public' and table_type = 'BASE TABLE' and table_name <> $1 order by 1`,
        [migrationsTable],
      );
      const counted = [];
      for (const { name } of tables.rows) {
        const { rows } = await client.query<{ count: string }>(
          `select count(*) as count from ${pg.escapeIdentifier(name)}`,
        );
        counted.push({ name, rows: Number(rows[0]?.count ?? 0) });
      }
      // The migrator's own record, listed apart from the service's tables.
      const migrations = (await appliedMigrations(client)).map(({ file, appliedAt }) => ({
        file,
        appliedAt: appliedAt.toISOString(),
      }));
      return { service, tables: counted, migrations };
    });
  } catch (error) {
    return { service, tables: [], migrations: [], error: (error as Error).message };
  }
}

/**
 * The last rows of one of a service's tables, newest first by the order
 * they were stored in; undefined for a name that is not one of its tables,
 * which is never put into SQL.
 */
export async function lastRows(url: string, table: string): Promise<TableRows | undefined> {
  return readOnly(url, async (client) => {
    const known = await client.query(
      `select 1 from information_schema.tables
        where table_schema = 'public' and table_type = 'BASE TABLE' and table_name = $1`,
      [table],
    );
    if (known.rowCount === 0) return undefined;
    const result = await client.query(
      `select * from ${pg.escapeIdentifier(table)} order by ctid desc limit ${shownRows}`,
    );
    return {
      table,
      columns: result.fields.map((field) => field.name),
      rows: result.rows.map((row: Record<string, unknown>) => result.fields.map((field) => shown(row[field.name]))),
    };
  });
}

/** A value as the page shows it: text, with dates in ISO form and bytes in hex. */
function shown(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return `\\x${value.toString('hex')}`;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** One short connection, in a read-only transaction: the console looks, and never writes. */
async function readOnly<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  // A connection the server ends (a database stopped under it) must not end the console.
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query('begin read only');
    const result = await work(client);
    await client.query('rollback');
    return result;
  } finally {
    await client.end().catch(() => {});
  }
}
