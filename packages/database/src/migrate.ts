import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readMigrations } from '@taco-run/project/migrations';
import pg from 'pg';
import { migrationsTable, recordedMigrations, type ShippedMigration } from './applied.js';
import { connectionSettings } from './connection.js';

/** Why the migrator stopped, in words naming the file; nothing of the file that failed was applied. */
export class MigrationError extends Error {
  override name = 'MigrationError';
}

/**
 * pg_advisory_lock's key, the same for every migrator of every service: a
 * database belongs to one service, so one key is enough to make two
 * migrators of the same database take turns.
 */
const lockKey = 7_347_201_959;

export interface MigrateOptions {
  /** The folder that the service's `folder` is relative to: the project's. */
  root: string;
  /** The migrations folder, relative to `root`, as the manifest check names it: `services/orders/migrations`. */
  folder: string;
  /** Told of each file as it is applied, so that a long run shows progress. */
  onApplied?: (file: string) => void;
}

/** The sha256 of a migration's bytes, in hex: what the migrator records and the service checks. */
export function checksum(sql: string | Buffer): string {
  return createHash('sha256').update(sql).digest('hex');
}

/** The migrations of a folder, in order, each with its SQL and checksum; MigrationError naming each problem. */
export function shippedMigrations(root: string, folder: string): (ShippedMigration & { sql: string })[] {
  const { migrations, problems } = readMigrations(root, folder);
  if (problems.length > 0) throw new MigrationError(problems.join('\n'));
  return migrations.map(({ file }) => {
    const sql = readFileSync(join(root, folder, file), 'utf8');
    return { file, sql, checksum: checksum(sql) };
  });
}

/**
 * Applies the migrations of `folder` that the database has not recorded, in
 * order, each in its own transaction with its record, and returns the files it
 * applied. Under an advisory lock, so two migrators at once apply each file
 * once. It applies nothing when a recorded file was edited or deleted since,
 * and stops at the first file that fails, with that file's line and
 * PostgreSQL's message.
 */
export async function migrate(connectionString: string, options: MigrateOptions): Promise<string[]> {
  const shipped = shippedMigrations(options.root, options.folder);
  const client = new pg.Client(await connectionSettings(connectionString));
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [lockKey]);
    try {
      await client.query(
        `create table if not exists ${migrationsTable} (file text primary key, checksum text not null, applied_at timestamptz not null default now())`,
      );
      const recorded = await recordedMigrations(client);
      const mismatch = driftProblems(options.folder, shipped, recorded);
      if (mismatch.length > 0) throw new MigrationError(mismatch.join('\n'));
      const applied: string[] = [];
      for (const migration of shipped) {
        if (recorded.has(migration.file)) continue;
        await applyOne(client, options.folder, migration);
        applied.push(migration.file);
        options.onApplied?.(migration.file);
      }
      return applied;
    } finally {
      await client.query('select pg_advisory_unlock($1)', [lockKey]);
    }
  } finally {
    await client.end();
  }
}

/**
 * Recorded migrations whose file is now different or gone: applying the rest
 * on top would build a schema that no file describes, so the migrator stops.
 */
function driftProblems(
  folder: string,
  shipped: readonly ShippedMigration[],
  recorded: ReadonlyMap<string, string>,
): string[] {
  const byFile = new Map(shipped.map((migration) => [migration.file, migration.checksum]));
  const problems: string[] = [];
  for (const [file, sum] of recorded) {
    const now = byFile.get(file);
    if (now === undefined) {
      problems.push(`${join(folder, file)}: applied to this database, but the file is gone; restore it`);
    } else if (now !== sum) {
      problems.push(
        `${join(folder, file)}: edited after it was applied to this database; restore it, and make the change in a new migration`,
      );
    }
  }
  return problems;
}

async function applyOne(client: pg.ClientBase, folder: string, migration: ShippedMigration & { sql: string }) {
  await client.query('begin');
  try {
    // A query without parameters goes as PostgreSQL's simple query, which runs a file of several statements.
    await client.query(migration.sql);
    await client.query(`insert into ${migrationsTable} (file, checksum) values ($1, $2)`, [
      migration.file,
      migration.checksum,
    ]);
    await client.query('commit');
  } catch (error) {
    await client.query('rollback');
    if (!(error instanceof pg.DatabaseError)) throw error;
    const line = lineAt(migration.sql, Number(error.position));
    throw new MigrationError(
      `${join(folder, migration.file)}${line === undefined ? '' : `:${line}`}: ${error.message}; nothing of it was applied`,
    );
  }
}

/** The 1-based line of a 1-based character position that PostgreSQL reported, when it reported one. */
function lineAt(sql: string, position: number): number | undefined {
  if (!Number.isInteger(position) || position < 1) return undefined;
  return sql.slice(0, position - 1).split('\n').length;
}
