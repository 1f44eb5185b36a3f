import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { unappliedMigration } from '../src/applied.js';
import { MigrationError, migrate, shippedMigrations } from '../src/migrate.js';
import { findPostgres, startPostgres, type TestPostgres } from '../src/testing.js';

const found = findPostgres();
const folder = 'services/orders/migrations';
let server: TestPostgres;
let root: string;
let url: string;
let databases = 0;

beforeAll(async () => {
  // CI installs the server: there, a missing one fails instead of skipping.
  if ('missing' in found && process.env.CI === 'true') throw new Error(found.missing);
  if ('bin' in found) server = await startPostgres(found.bin);
}, 60_000);
afterAll(() => server?.stop());

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'migrate-'));
  await mkdir(join(root, folder), { recursive: true });
  databases += 1;
  url = await server.createDatabase(`migrate_${databases}`);
});
afterEach(() => rm(root, { recursive: true, force: true }));

async function migration(file: string, sql: string): Promise<void> {
  await writeFile(join(root, folder, file), sql);
}

async function query<Row extends pg.QueryResultRow>(sql: string): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<Row>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe.skipIf('missing' in found)(
  `migrate, against a real PostgreSQL${'missing' in found ? ` (${found.missing})` : ''}`,
  () => {
    it('applies each file once, in order, and records it with its checksum', async () => {
      await migration('0001_create_orders.sql', 'create table orders (id serial primary key, name text not null);\n');
      await migration('0002_add_tacos.sql', 'alter table orders add column tacos int not null default 1;\n');
      const applied: string[] = [];
      expect(await migrate(url, { root, folder, onApplied: (file) => applied.push(file) })).toEqual([
        '0001_create_orders.sql',
        '0002_add_tacos.sql',
      ]);
      expect(applied).toEqual(['0001_create_orders.sql', '0002_add_tacos.sql']);
      expect(await migrate(url, { root, folder })).toEqual([]);
      await migration('0003_add_at.sql', 'alter table orders add column at timestamptz;\n');
      expect(await migrate(url, { root, folder })).toEqual(['0003_add_at.sql']);
      const recorded = await query<{ file: string; checksum: string }>(
        'select file, checksum from taco_run_migrations order by file',
      );
      expect(recorded.map((row) => row.file)).toEqual([
        '0001_create_orders.sql',
        '0002_add_tacos.sql',
        '0003_add_at.sql',
      ]);
      for (const row of recorded) expect(row.checksum).toMatch(/^[\da-f]{64}$/);
      const columns = await query<{ column_name: string }>(
        "select column_name from information_schema.columns where table_name = 'orders' order by ordinal_position",
      );
      expect(columns.map((row) => row.column_name)).toEqual(['id', 'name', 'tacos', 'at']);
    });

    it('applies each file once when two migrators run at once', async () => {
      // Without the lock both would see no record, and the second create table would fail.
      await migration(
        '0001_create_orders.sql',
        'create table orders (id serial primary key);\nselect pg_sleep(0.2);\n',
      );
      const runs = await Promise.all([migrate(url, { root, folder }), migrate(url, { root, folder })]);
      expect(runs.flat()).toEqual(['0001_create_orders.sql']);
    });

    it("stops at a failing file with its line and PostgreSQL's message, leaving the database as it was", async () => {
      await migration('0001_create_orders.sql', 'create table orders (id serial primary key);\n');
      await migration(
        '0002_broken.sql',
        'create table tallies (name text);\n\ninsert into tallies values ($$x$$);\nselect nope from tallies;\n',
      );
      await migration('0003_later.sql', 'create table later ();\n');
      const failure = migrate(url, { root, folder });
      await expect(failure).rejects.toThrow(MigrationError);
      await expect(failure).rejects.toThrow(
        `${folder}/0002_broken.sql:4: column "nope" does not exist; nothing of it was applied`,
      );
      const tables = await query<{ table_name: string }>(
        "select table_name from information_schema.tables where table_schema = 'public' order by table_name",
      );
      expect(tables.map((row) => row.table_name)).toEqual(['orders', 'taco_run_migrations']);
      expect(await query('select file from taco_run_migrations')).toEqual([{ file: '0001_create_orders.sql' }]);
    });

    it('applies nothing when a recorded file was edited or deleted, naming each', async () => {
      await migration('0001_create_orders.sql', 'create table orders (id serial primary key);\n');
      await migration('0002_add_name.sql', 'alter table orders add column name text;\n');
      await migrate(url, { root, folder });
      await migration('0001_create_orders.sql', 'create table orders (id bigserial primary key);\n');
      await rm(join(root, folder, '0002_add_name.sql'));
      await migration('0002_add_note.sql', 'alter table orders add column note text;\n');
      await expect(migrate(url, { root, folder })).rejects.toThrow(
        [
          `${folder}/0001_create_orders.sql: edited after it was applied to this database; restore it, and make the change in a new migration`,
          `${folder}/0002_add_name.sql: applied to this database, but the file is gone; restore it`,
        ].join('\n'),
      );
      const columns = await query("select column_name from information_schema.columns where table_name = 'orders'");
      expect(columns).toHaveLength(2);
    });

    it('applies nothing from a folder with a problem, naming each, and says when there is no folder', async () => {
      await migration('0001_create_orders.sql', 'create table orders ();\n');
      await migration('0003_skip.sql', 'create table skip ();\n');
      await expect(migrate(url, { root, folder })).rejects.toThrow(
        `${folder}/0003_skip.sql: no migration numbered 0002 before it; number them from 0001 with no gap`,
      );
      await expect(migrate(url, { root, folder: 'services/orders/schema' })).rejects.toThrow(
        'services/orders/schema: no such folder; make it, with 0001_<what>.sql as its first migration',
      );
      expect(await query("select to_regclass('orders') as found")).toEqual([{ found: null }]);
    });

    it('tells a service which migration it ships that its database lacks, or has from another file', async () => {
      await migration('0001_create_orders.sql', 'create table orders (id serial primary key);\n');
      const check = async () => {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          return await unappliedMigration(client, shippedMigrations(root, folder));
        } finally {
          await client.end();
        }
      };
      expect(await check()).toBe('migration 0001_create_orders.sql is not applied to this database');
      await migrate(url, { root, folder });
      expect(await check()).toBeUndefined();
      await migration('0002_add_name.sql', 'alter table orders add column name text;\n');
      expect(await check()).toBe('migration 0002_add_name.sql is not applied to this database');
      await migration('0001_create_orders.sql', 'create table orders (id bigserial primary key);\n');
      expect(await check()).toBe('migration 0001_create_orders.sql was applied to this database from a different file');
    });
  },
);
