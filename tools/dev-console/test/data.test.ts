import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate } from '@taco-run/database/migrate';
import { findPostgres, startPostgres, type TestPostgres } from '@taco-run/database/testing';
import { loadProject } from '@taco-run/project/services';
import { fixtureProject } from '@taco-run/project/testing';
import pg from 'pg';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevConsole, startDevConsole } from '../src/server.js';
import type { DatabaseView, TableRows } from '../src/views.js';

// The Data view's server side, over a real PostgreSQL: a database with a migrated table and rows in it.

const root = fileURLToPath(new URL('../../../', import.meta.url));
const found = findPostgres();
let postgres: TestPostgres;
let devConsole: DevConsole;
let work: string;

async function get<T>(path: string): Promise<{ status: number; body: T }> {
  const response = await request(`${devConsole.url}${path}`);
  return { status: response.statusCode, body: (await response.body.json()) as T };
}

beforeAll(async () => {
  // CI installs the server: there, a missing one fails instead of skipping.
  if ('missing' in found && process.env.CI === 'true') throw new Error(found.missing);
  if ('missing' in found) return;
  postgres = await startPostgres(found.bin);
  const url = await postgres.createDatabase('ledger');
  work = await mkdtemp(join(tmpdir(), 'console-data-'));
  await mkdir(join(work, 'migrations'));
  await writeFile(
    join(work, 'migrations/0001_entries.sql'),
    'create table entries (id serial primary key, what text not null, note text, at timestamptz not null default now());\n',
  );
  await migrate(url, { root: work, folder: 'migrations' });
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query("insert into entries (what, note) values ('first', null), ('second', 'x'), ('third', 'y')");
  await client.end();
  devConsole = await startDevConsole({
    project: loadProject(fixtureProject),
    modelFile: 'packages/generated/model.json',
    pageDir: join(root, 'tools/dev-console/dist/page'),
    runner: 'a test',
    port: 0,
    // Nothing listens on port 1: a database that is not there.
    databases: new Map([
      ['ledger', url],
      ['gone', 'postgresql://postgres@127.0.0.1:1/none'],
    ]),
  });
}, 60_000);

afterAll(async () => {
  await devConsole?.close();
  await postgres?.stop();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe.skipIf('missing' in found)('the Data view, against a real PostgreSQL', () => {
  it("lists each service's tables with their row counts and the migrations applied, or why it cannot", async () => {
    const { status, body } = await get<DatabaseView[]>('/api/data');
    expect(status).toBe(200);
    expect(body[0]).toMatchObject({
      service: 'ledger',
      tables: [{ name: 'entries', rows: 3 }],
      migrations: [{ file: '0001_entries.sql', appliedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) }],
    });
    expect(body[0]?.error).toBeUndefined();
    expect(body[1]).toMatchObject({ service: 'gone', tables: [], migrations: [] });
    expect(body[1]?.error).toMatch(/ECONNREFUSED/);
  });

  it("shows a table's last rows, newest first, NULL as null and times as ISO text", async () => {
    const { status, body } = await get<TableRows>('/api/data/ledger/entries');
    expect(status).toBe(200);
    expect(body.columns).toEqual(['id', 'what', 'note', 'at']);
    expect(body.rows.map((row) => row.slice(0, 3))).toEqual([
      ['3', 'third', 'y'],
      ['2', 'second', 'x'],
      ['1', 'first', null],
    ]);
    expect(body.rows[0]?.[3]).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);
  });

  it('names only tables it has: anything else is a 404, never SQL', async () => {
    expect(await get('/api/data/ledger/nothing')).toEqual({
      status: 404,
      body: { error: "ledger's database has no table nothing" },
    });
    const hostile = encodeURIComponent('entries; drop table entries');
    expect((await get(`/api/data/ledger/${hostile}`)).status).toBe(404);
    expect((await get('/api/data/nobody/entries')).body).toEqual({ error: 'nobody has no database here' });
    expect((await get<DatabaseView[]>('/api/data')).body[0]?.tables).toEqual([{ name: 'entries', rows: 3 }]);
  });
});
