import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate } from '@taco-run/database/migrate';
import { findPostgres, startPostgres, type TestPostgres } from '@taco-run/database/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grantsSql } from '../src/cloud-sql.js';

// The privileges the deploy gives each service's IAM database user, on a real PostgreSQL laid out as
// Cloud SQL lays out an instance: `postgres` is no superuser but a member of cloudsqlsuperuser, which
// owns every database `gcloud sql databases create` makes; IAM users are login roles in
// cloudsqliamserviceaccount, with no privileges of their own. The grants run as that `postgres`, as
// `gcloud sql import sql --user=postgres` runs them. (Here it is cloudsql_postgres: the test cluster's
// superuser already holds the name.)

const ledger = 'ledger@taco-project.iam';
const orders = 'orders@taco-project.iam';

const found = findPostgres();
describe.skipIf('missing' in found && process.env.CI !== 'true')("a service's database user", () => {
  let server: TestPostgres;
  let migrations: string;
  const url = (user: string, database: string) => {
    const at = new URL(server.url);
    at.username = encodeURIComponent(user);
    at.pathname = `/${database}`;
    return at.toString();
  };
  async function as<T>(user: string, database: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: url(user, database) });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }
  const refusal = (user: string, database: string, sql: string) =>
    as(user, database, (client) => client.query(sql)).then(
      () => 'allowed',
      (error: { code?: string; message: string }) => `${error.code}: ${error.message}`,
    );

  beforeAll(async () => {
    if ('missing' in found) throw new Error(found.missing);
    server = await startPostgres(found.bin);
    await as('postgres', 'postgres', async (superuser) => {
      await superuser.query('create role cloudsqlsuperuser nologin createdb createrole');
      await superuser.query('create role cloudsql_postgres login in role cloudsqlsuperuser');
      await superuser.query('create role cloudsqliamserviceaccount nologin');
      for (const user of [ledger, orders]) {
        await superuser.query(`create role ${pg.escapeIdentifier(user)} login in role cloudsqliamserviceaccount`);
      }
      for (const database of ['ledger', 'orders'])
        await superuser.query(`create database ${database} owner cloudsqlsuperuser`);
    });
    for (const [database, user] of [
      ['ledger', ledger],
      ['orders', orders],
    ] as const) {
      await as('cloudsql_postgres', database, (admin) => admin.query(grantsSql(database, user)));
    }
    migrations = await mkdtemp(join(tmpdir(), 'grants-migrations-'));
    await mkdir(join(migrations, 'migrations'));
    await writeFile(
      join(migrations, 'migrations/0001_entries.sql'),
      'create table entries (id int generated always as identity primary key, amount int not null);\n',
    );
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await rm(migrations, { recursive: true, force: true });
  });

  it('runs its migrations in its own database, and owns and uses what they make', async () => {
    const applied = await migrate(url(ledger, 'ledger'), { root: migrations, folder: 'migrations' });
    expect(applied).toEqual(['0001_entries.sql']);
    const rows = await as(ledger, 'ledger', async (client) => {
      await client.query('insert into entries (amount) values (7)');
      await client.query('create temporary table scratch (n int)');
      return (
        await client.query(
          "select (select sum(amount)::int from entries) as total, tableowner from pg_tables where tablename = 'entries'",
        )
      ).rows;
    });
    expect(rows).toEqual([{ total: 7, tableowner: ledger }]);
  });

  it("cannot reach another service's database, in either direction", async () => {
    // PostgreSQL 16 and later quote the name.
    expect(await refusal(ledger, 'orders', 'select 1')).toMatch(/^42501: permission denied for database "?orders"?$/);
    expect(await refusal(orders, 'ledger', 'select 1')).toMatch(/^42501: permission denied for database "?ledger"?$/);
  });

  it('can make no database and no role', async () => {
    expect(await refusal(ledger, 'ledger', 'create database extra')).toBe(
      '42501: permission denied to create database',
    );
    expect(await refusal(ledger, 'ledger', 'create role intruder')).toBe('42501: permission denied to create role');
  });

  it('is granted nothing twice: applying the grants again changes nothing and fails nothing', async () => {
    const privileges = () =>
      as('postgres', 'ledger', async (client) => ({
        database: (await client.query("select datacl::text[] as acl from pg_database where datname = 'ledger'")).rows,
        schema: (await client.query("select nspacl::text[] as acl from pg_namespace where nspname = 'public'")).rows,
      }));
    const before = await privileges();
    await as('cloudsql_postgres', 'ledger', (admin) => admin.query(grantsSql('ledger', ledger)));
    expect(await privileges()).toEqual(before);
  });
});
