import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRpcError, RpcError } from '@taco-run/rpc';
import { recordSpansWith, runInTrace, type SpanAttributes } from '@taco-run/rpc/trace';
import { type Generated, sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { migrate, shippedMigrations } from '../src/migrate.js';
import { openDatabase, type ServiceDatabase } from '../src/open.js';
import { findPostgres, startPostgres, type TestPostgres } from '../src/testing.js';

interface Tables {
  taco_orders: { id: Generated<number>; name: string; tacos: number };
}

const found = findPostgres();
const folder = 'migrations';
let server: TestPostgres;
let root: string;
let databases = 0;
const opened: ServiceDatabase<Tables>[] = [];

beforeAll(async () => {
  // CI installs the server: there, a missing one fails instead of skipping.
  if ('missing' in found && process.env.CI === 'true') throw new Error(found.missing);
  if ('bin' in found) server = await startPostgres(found.bin);
  root = await mkdtemp(join(tmpdir(), 'open-'));
  await mkdir(join(root, folder));
  await writeFile(
    join(root, folder, '0001_taco_orders.sql'),
    'create table taco_orders (id serial primary key, name text not null, tacos int not null);\n',
  );
}, 60_000);
afterAll(async () => {
  await server?.stop();
  await rm(root, { recursive: true, force: true });
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((database) => database.close()));
});

/** A fresh database, migrated unless told not to, and the service's view of it. */
async function serviceDatabase(options: { migrated?: boolean; poolSize?: number; connectTimeout?: number } = {}) {
  databases += 1;
  const url = await server.createDatabase(`open_${databases}`);
  if (options.migrated !== false) await migrate(url, { root, folder });
  const log: string[] = [];
  const database = openDatabase<Tables>({
    url,
    migrations: shippedMigrations(root, folder).map(({ file, checksum }) => ({ file, checksum })),
    poolSize: options.poolSize ?? 4,
    connectTimeout: options.connectTimeout,
    log: { info: (message) => log.push(`info: ${message}`), error: (message) => log.push(`error: ${message}`) },
  });
  opened.push(database);
  return { url, database, log };
}

/** The error a promise fails with. */
async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable('it succeeded'),
    (error: unknown) => error,
  );
}

describe.skipIf('missing' in found)(
  `openDatabase, against a real PostgreSQL${'missing' in found ? ` (${found.missing})` : ''}`,
  () => {
    it('queries through Kysely, every value a parameter: an injection string is stored as it was written', async () => {
      const { database } = await serviceDatabase();
      const db = await database.kysely();
      const hostile = ["Robert'); drop table taco_orders; --", "' or '1'='1", '$1', "'; select pg_sleep(10); --"];
      for (const name of hostile) await db.insertInto('taco_orders').values({ name, tacos: 1 }).execute();
      const rows = await db.selectFrom('taco_orders').select(['name']).orderBy('id').execute();
      expect(rows.map((row) => row.name)).toEqual(hostile);
    });

    it('answers 503 naming a shipped migration the database lacks, and serves once a migrator applies it', async () => {
      const { url, database } = await serviceDatabase({ migrated: false });
      const db = await database.kysely();
      const error = await failure(db.selectFrom('taco_orders').selectAll().execute());
      expect(isRpcError(error)).toBe(true);
      expect(error).toMatchObject({
        code: 'unavailable',
        message: 'the database is not ready: migration 0001_taco_orders.sql is not applied to this database',
      });
      await migrate(url, { root, folder });
      expect(await db.selectFrom('taco_orders').selectAll().execute()).toEqual([]);
    });

    it("leaves the service's own SQL errors as they are: a bug, not an outage", async () => {
      const { database } = await serviceDatabase();
      const db = await database.kysely();
      const error = await failure(sql`select no_such_column from taco_orders`.execute(db));
      expect(isRpcError(error)).toBe(false);
      expect(error).toMatchObject({ code: '42703' });
    });

    it('makes a query wait for a free connection no longer than connectTimeout, then answers 503', async () => {
      const { database } = await serviceDatabase({ poolSize: 1, connectTimeout: 300 });
      const db = await database.kysely();
      let waited = 0;
      await db.transaction().execute(async (transaction) => {
        await transaction.insertInto('taco_orders').values({ name: 'held', tacos: 1 }).execute();
        const started = Date.now();
        const error = await failure(db.selectFrom('taco_orders').selectAll().execute());
        waited = Date.now() - started;
        expect(error).toEqual(new RpcError('unavailable', 'no database connection came free in time'));
      });
      expect(waited).toBeGreaterThanOrEqual(250);
      // The pool is whole again: the held connection went back.
      expect(await db.selectFrom('taco_orders').select('name').execute()).toEqual([{ name: 'held' }]);
    });

    it('records a span per query, named by operation and table, with no value in it', async () => {
      const { database } = await serviceDatabase();
      const db = await database.kysely();
      const spans: { name: string; parent: string | undefined; attributes: SpanAttributes; code?: string }[] = [];
      recordSpansWith({
        startServer: () => expect.unreachable('no server span here'),
        startClient(name, parent, attributes) {
          const span: (typeof spans)[number] = { name, parent: parent?.spanId, attributes: attributes() };
          spans.push(span);
          return {
            trace: { traceId: parent?.traceId ?? '', spanId: 'child' },
            end: ({ code }) => {
              if (code !== undefined) span.code = code;
            },
          };
        },
      });
      try {
        const request = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' };
        await runInTrace(request, async () => {
          await db.insertInto('taco_orders').values({ name: 'Sammy Sosa', tacos: 2 }).execute();
          await db.selectFrom('taco_orders').select('tacos').where('name', '=', 'Sammy Sosa').execute();
          await failure(sql`select nothing from taco_orders`.execute(db));
        });
      } finally {
        recordSpansWith(undefined);
      }
      expect(spans.map(({ name }) => name)).toEqual(['INSERT taco_orders', 'SELECT taco_orders', 'SELECT taco_orders']);
      expect(spans.every((span) => span.parent === 'b7ad6b7169203331')).toBe(true);
      const insert = spans[0];
      expect(insert?.attributes).toMatchObject({
        'db.system': 'postgresql',
        'db.operation.name': 'INSERT',
        'db.collection.name': 'taco_orders',
        'db.namespace': expect.stringMatching(/^open_\d+$/),
      });
      expect(JSON.stringify(spans)).not.toContain('Sammy Sosa');
      expect(spans.at(-1)?.code).toBe('42703');
      expect(insert?.code).toBeUndefined();
    });

    // Last: it stops the server the other tests share.
    it('answers 503 at once while PostgreSQL is down, logs it once, and recovers by itself within 5 s of its return', async () => {
      const { database, log } = await serviceDatabase();
      const db = await database.kysely();
      await db.insertInto('taco_orders').values({ name: 'before', tacos: 1 }).execute();
      await server.kill();
      const started = Date.now();
      const errors = await Promise.all(
        Array.from({ length: 20 }, () => failure(db.selectFrom('taco_orders').selectAll().execute())),
      );
      expect(Date.now() - started).toBeLessThan(2000);
      for (const error of errors) expect(error).toEqual(new RpcError('unavailable', 'the database is unavailable'));
      expect(log.filter((line) => line.startsWith('error:'))).toHaveLength(1);
      expect(log[0]).toMatch(/^error: the database is unavailable \(.+\); its queries answer 503 unavailable/);

      await server.restart();
      const back = Date.now();
      let rows: unknown[] | undefined;
      while (rows === undefined && Date.now() - back < 5000) {
        rows = await db
          .selectFrom('taco_orders')
          .select('name')
          .execute()
          .catch(() => undefined);
      }
      expect(rows).toEqual([{ name: 'before' }]);
      expect(log.at(-1)).toMatch(/^info: the database is back after \d+\.\d s$/);
    }, 30_000);
  },
);
