import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MigrationError, migrate, shippedMigrations } from '@taco-run/database/migrate';
import { findPostgres, startPostgres, type TestPostgres } from '@taco-run/database/testing';
import { freePort, type ServiceProcess, startService } from '@taco-run/project/process';
import pg from 'pg';
import { build } from 'tsup';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeBundle } from '../../scripts/node-bundle.js';

// A service with a database (fixtures/orders-service.ts) against a real PostgreSQL server: what it answers, and
// what it keeps, when it is stopped under load, when PostgreSQL dies under it, and when more requests come than
// its pool holds.

const root = fileURLToPath(new URL('../../', import.meta.url));
const folder = 'reliability/test/fixtures/orders-migrations';
const found = findPostgres();
let postgres: TestPostgres;
let work: string;
let bundle: string;
let databases = 0;

beforeAll(async () => {
  // CI installs the server: there, a missing one fails instead of skipping.
  if ('missing' in found && process.env.CI === 'true') throw new Error(found.missing);
  if ('missing' in found) return;
  work = await mkdtemp(join(tmpdir(), 'database-faults-'));
  await build(
    nodeBundle({
      entry: { main: join(root, 'reliability/test/fixtures/orders-service.ts') },
      outDir: work,
      silent: true,
    }),
  );
  bundle = join(work, 'main.js');
  postgres = await startPostgres(found.bin);
});

afterAll(async () => {
  await postgres?.stop();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

/** A fresh database, migrated, and the service on it. */
async function ordersService(env: Record<string, string> = {}): Promise<{ service: ServiceProcess; url: string }> {
  databases += 1;
  const url = await postgres.createDatabase(`orders_${databases}`);
  await migrate(url, { root, folder });
  const migrations = shippedMigrations(root, folder)
    .map(({ file, checksum }) => `${file}:${checksum}`)
    .join(',');
  const service = await startService(
    bundle,
    { DATABASE_URL: url, MIGRATIONS: migrations, LOG_REQUESTS: 'false', ...env },
    { port: await freePort() },
  );
  return { service, url };
}

async function storedNames(url: string): Promise<Set<string>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return new Set((await client.query<{ name: string }>('select name from taco_orders')).rows.map((row) => row.name));
  } finally {
    await client.end();
  }
}

interface Answer {
  status: number | undefined;
  code?: string;
  ms: number;
  error?: string;
}

async function eat(origin: string, name: string, dispatcher?: Agent): Promise<Answer> {
  const started = performance.now();
  try {
    const response = await request(`${origin}/oto/TacoService.EatTaco`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name, tacos: ['Chicken', 'Chorizo'] }),
      dispatcher,
      headersTimeout: 20_000,
      bodyTimeout: 20_000,
    });
    const body = (await response.body.json()) as { code?: string };
    return { status: response.statusCode, code: body.code, ms: performance.now() - started };
  } catch (error) {
    return { status: undefined, ms: performance.now() - started, error: (error as NodeJS.ErrnoException).code };
  }
}

describe.skipIf('missing' in found)(
  `a service with a database, against a real PostgreSQL${'missing' in found ? ` (${found.missing})` : ''}`,
  () => {
    it('stores every value as a parameter: injection strings in name are kept as they were written', async () => {
      const { service, url } = await ordersService();
      try {
        const hostile = [
          "Robert'); drop table taco_orders; --",
          "' or '1'='1",
          "'; select pg_sleep(10); --",
          '$1',
          '\\x27; truncate taco_orders; --',
        ];
        for (const name of hostile) expect((await eat(service.origin, name)).status).toBe(200);
        expect(await storedNames(url)).toEqual(new Set(hostile));
      } finally {
        expect(await service.stop()).toBe(0);
      }
    });

    it('keeps every order it answered 200 to through a SIGTERM under load, and none it refused', async () => {
      const { service, url } = await ordersService();
      const agent = new Agent({ connections: 50 });
      const answers = new Map<string, Answer>();
      let next = 0;
      let stopped = false;
      const worker = async () => {
        // Each worker sends until the service is gone: the last ones meet a closed port.
        while (next < 5000) {
          const name = `order ${next++}`;
          const answer = await eat(service.origin, name, agent);
          answers.set(name, answer);
          if (stopped && answer.status === undefined) return;
        }
      };
      const workers = Array.from({ length: 50 }, worker);
      while ([...answers.values()].filter((answer) => answer.status === 200).length < 300) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      service.child.kill('SIGTERM');
      stopped = true;
      await Promise.all(workers);
      expect(await service.exited).toBe(0);
      await agent.close();

      const stored = await storedNames(url);
      const answered = [...answers].filter(([, answer]) => answer.status === 200).map(([name]) => name);
      const refused = [...answers].filter(([, answer]) => answer.status !== 200).map(([name]) => name);
      expect(answered.length).toBeGreaterThanOrEqual(300);
      expect(refused.length).toBeGreaterThan(0);
      // Every acknowledged write is there, and nothing the caller was told failed.
      expect(answered.filter((name) => !stored.has(name))).toEqual([]);
      expect(refused.filter((name) => stored.has(name))).toEqual([]);
      expect(stored.size).toBe(answered.length);
    });

    it('waits no longer than its connect timeout for a connection when requests outnumber the pool, then answers 503', async () => {
      const { service, url } = await ordersService({ POOL_SIZE: '2' });
      // A lock on the table holds each insert, and so each connection of the pool, until it is released.
      const holder = new pg.Client({ connectionString: url });
      await holder.connect();
      try {
        await holder.query('begin');
        await holder.query('lock table taco_orders in access exclusive mode');
        const calls = Array.from({ length: 10 }, (_, i) => eat(service.origin, `crowd ${i}`));
        // Past the pool's 5 s wait for a connection, then the lock goes.
        await new Promise((resolve) => setTimeout(resolve, 6500));
        await holder.query('commit');
        const answers = await Promise.all(calls);
        const refused = answers.filter((answer) => answer.status === 503);
        const served = answers.filter((answer) => answer.status === 200);
        expect(served).toHaveLength(2);
        expect(refused).toHaveLength(8);
        for (const answer of refused) {
          expect(answer.code).toBe('unavailable');
          expect(answer.ms).toBeGreaterThan(4500);
          expect(answer.ms).toBeLessThan(6500);
        }
      } finally {
        await holder.end();
        expect(await service.stop()).toBe(0);
      }
    }, 30_000);

    it('leaves the database as it was when a migration fails: its transaction rolls back', async () => {
      databases += 1;
      const url = await postgres.createDatabase(`orders_${databases}`);
      const broken = await mkdtemp(join(work, 'migrations-'));
      await writeFile(join(broken, '0001_tables.sql'), 'create table kept (id int);\n');
      await writeFile(join(broken, '0002_half.sql'), 'create table half (id int);\ninsert into nowhere values (1);\n');
      const relative = broken.slice(work.length + 1);
      await expect(migrate(url, { root: work, folder: relative })).rejects.toThrow(MigrationError);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query<{ name: string }>(
          "select table_name as name from information_schema.tables where table_schema = 'public' order by 1",
        );
        expect(rows.map((row) => row.name)).toEqual(['kept', 'taco_run_migrations']);
      } finally {
        await client.end();
      }
    });

    // Last: it stops the server the other cases share.
    it('answers 503 at once while PostgreSQL is dead, with no 500 and no stack per request, and recovers by itself within 5 s', async () => {
      const { service } = await ordersService({ POOL_SIZE: '4' });
      const agent = new Agent({ connections: 20 });
      const answers: (Answer & { at: number })[] = [];
      let running = true;
      let sent = 0;
      const worker = async () => {
        while (running) {
          const answer = await eat(service.origin, `load ${sent++}`, agent);
          answers.push({ ...answer, at: performance.now() });
        }
      };
      const workers = Array.from({ length: 20 }, worker);
      try {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        await postgres.kill();
        const killedAt = performance.now();
        await new Promise((resolve) => setTimeout(resolve, 2000));
        // It takes queries before restart() has seen it do so: the dead window ends here.
        const restartedAt = performance.now();
        await postgres.restart();
        const backAt = performance.now();
        let recoveredAt: number | undefined;
        while (recoveredAt === undefined && performance.now() - backAt < 10_000) {
          recoveredAt = answers.find((answer) => answer.at > backAt && answer.status === 200)?.at;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        running = false;
        await Promise.all(workers);

        const during = answers.filter((answer) => answer.at > killedAt + 200 && answer.at < restartedAt);
        expect(during.length).toBeGreaterThan(20);
        expect(during.filter((answer) => answer.status !== 503 || answer.code !== 'unavailable')).toEqual([]);
        // Quickly: a refused connection, not a wait.
        expect(Math.max(...during.map((answer) => answer.ms))).toBeLessThan(1000);
        expect(answers.filter((answer) => answer.status === 500 || answer.status === undefined)).toEqual([]);
        expect(recoveredAt).toBeDefined();
        expect((recoveredAt ?? Number.POSITIVE_INFINITY) - backAt).toBeLessThan(5000);
        // Said once as it went and once as it came back; each refused request a line of its own, without a stack.
        const lines = [...service.lines, ...service.stderr];
        expect(lines.filter((line) => line.includes('"stack"') || line.includes('    at '))).toEqual([]);
        const said = lines.filter((line) => /until it is back|the database is back after/.test(line));
        expect(
          said.filter((line) => line.includes('until it is back')),
          said.join('\n'),
        ).toHaveLength(1);
        expect(
          said.filter((line) => line.includes('the database is back after')),
          said.join('\n'),
        ).toHaveLength(1);
      } finally {
        running = false;
        await Promise.all(workers);
        await agent.close();
        expect(await service.stop()).toBe(0);
      }
    }, 60_000);
  },
);
