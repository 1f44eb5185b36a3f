import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findPostgres } from '@taco-run/database/testing';
import { runNode } from '@taco-run/project/testing';
import { build } from 'tsup';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRunner } from './runner.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const cli = join(root, 'tools/dev-runner/dist/cli.js');
const db = join(root, 'tools/dev-runner/dist/db.js');
// node-postgres as this repository has it, for the test's own service, whose bundle is plain JavaScript.
const pgModule = join(root, 'packages/database/node_modules/pg/lib/index.js');

let work: string;
const env = () => ({ PATH: process.env.PATH, NO_COLOR: '1' });

beforeAll(async () => {
  await build({ config: join(root, 'tools/dev-runner/tsup.config.ts'), silent: true });
  // A project with one service with a database: its bundle counts the visits it has stored, over DATABASE_URL.
  work = await mkdtemp(join(tmpdir(), 'dev-runner-databases-'));
  await mkdir(join(work, 'services/keeper/dist'), { recursive: true });
  await mkdir(join(work, 'services/keeper/migrations'));
  await writeFile(join(work, 'services/keeper/service.json'), JSON.stringify({ port: 8095, database: { pool: 3 } }));
  await writeFile(join(work, 'services/keeper/migrations/0001_visits.sql'), 'create table visits (id serial);\n');
  await writeFile(
    join(work, 'services/keeper/dist/main.js'),
    `import { createServer } from 'node:http';
import { createRequire } from 'node:module';
const pg = createRequire(import.meta.url)(${JSON.stringify(pgModule)});
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 3 });
createServer(async (request, response) => {
  if (request.url === '/healthz') return response.end('ok');
  // Three at once, one per connection of the pool: the embedded server takes as many as the pool holds.
  await Promise.all([1, 2, 3].map(() => pool.query('insert into visits default values')));
  const { rows } = await pool.query('select count(*)::int as n from visits');
  response.end(String(rows[0].n));
}).listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => pool.end().then(() => process.exit(0)));
`,
  );
}, 60_000);

afterAll(() => rm(work, { recursive: true, force: true }));

// psql comes with the server's package here; db:psql also finds it on PATH.
const found = findPostgres();
const psqlMissing = !('bin' in found) || !existsSync(join(found.bin, 'psql'));

/** `pnpm db:psql keeper`, its commands on stdin, which psql reads when stdin is not a terminal. */
async function psql(commands: string): Promise<{ code: number | null; stdout: string }> {
  const child = spawn(process.execPath, [db, 'psql', 'keeper'], { cwd: work, stdio: ['pipe', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stdin.end(commands);
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout };
}

/** The service's answer, once it listens: the runner says where it will be before the service is up. */
async function visit(port: string): Promise<string> {
  for (let tries = 0; ; tries++) {
    try {
      const response = await request(`http://127.0.0.1:${port}/`);
      return await response.body.text();
    } catch (error) {
      if (tries === 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

describe('a service with a database, under the dev runner', () => {
  it('gets PGlite over the wire, migrated before it starts, said first; its data outlives the runner', {
    timeout: 90_000,
  }, async () => {
    let port = '';
    for (const [run, expected] of [
      ['first', '3'],
      ['second', '6'],
    ] as const) {
      const runner = startRunner(cli, ['--free-ports', '--no-console'], { cwd: work, env: env() });
      try {
        const [where, url] = await runner.waitFor(
          /^dev-runner: keeper's database: PGlite in services\/keeper\/\.database, at (postgresql:\/\/postgres@127\.0\.0\.1:\d+\/postgres)$/,
          { ms: 30_000 },
        );
        expect(runner.output[0]).toBe(where);
        expect(url).toBeDefined();
        if (run === 'first') await runner.waitFor(/^dev-runner: keeper: applied 0001_visits\.sql$/);
        [, port = ''] = await runner.waitFor(/^dev-runner: keeper on http:\/\/localhost:(\d+)$/);
        expect(await visit(port)).toBe(expected);
        if (run === 'second') expect(runner.output.some((line) => line.includes('applied'))).toBe(false);
        expect(await runner.interrupt()).toEqual([0, null]);
      } finally {
        await runner.kill();
      }
    }
    expect(existsSync(join(work, 'services/keeper/.database/pglite'))).toBe(true);
    // What pnpm dev serves at is said only while it runs.
    expect(existsSync(join(work, 'services/keeper/.database/serving.json'))).toBe(false);
  });

  it('starts a database afresh with db:reset, and refuses a service without one', { timeout: 60_000 }, async () => {
    expect(await runNode(db, ['reset', 'keeper'], { cwd: work, timeout: 60_000 })).toEqual({
      code: 0,
      stdout: "db: keeper's database is fresh in services/keeper/.database: applied 0001_visits.sql\n",
      stderr: '',
    });
    const runner = startRunner(cli, ['--free-ports', '--no-console'], { cwd: work, env: env() });
    try {
      const [, port = ''] = await runner.waitFor(/^dev-runner: keeper on http:\/\/localhost:(\d+)$/, { ms: 30_000 });
      expect(await visit(port)).toBe('3');
      // Not while pnpm dev serves it.
      expect(await runNode(db, ['reset', 'keeper'], { cwd: work, timeout: 60_000 })).toMatchObject({
        code: 1,
        stderr: "db: pnpm dev is serving keeper's database; stop it first, then reset\n",
      });
    } finally {
      await runner.kill();
    }
    expect(await runNode(db, ['reset', 'nobody'], { cwd: work })).toMatchObject({ code: 1 });
    expect(await runNode(db, ['reset'], { cwd: work })).toMatchObject({ code: 2 });
  });

  it.skipIf(psqlMissing)(
    'opens psql on it with db:psql: the one pnpm dev serves, else its data directly',
    {
      timeout: 60_000,
    },
    async () => {
      const direct = await psql('select count(*) as visits from visits;\n');
      expect(direct.code).toBe(0);
      expect(direct.stdout).toMatch(/^\s*3$/m);
      const runner = startRunner(cli, ['--free-ports', '--no-console'], { cwd: work, env: env() });
      try {
        const [, port = ''] = await runner.waitFor(/^dev-runner: keeper on http:\/\/localhost:(\d+)$/, { ms: 30_000 });
        expect(await visit(port)).toBe('6');
        const served = await psql('select count(*) as visits from visits;\n');
        expect(served.stdout).toMatch(/^\s*6$/m);
      } finally {
        await runner.kill();
      }
    },
  );

  it('does not start a service whose recorded migration was edited, and says which file', {
    timeout: 60_000,
  }, async () => {
    await writeFile(join(work, 'services/keeper/migrations/0001_visits.sql'), 'create table visits (id bigserial);\n');
    const runner = startRunner(cli, ['--free-ports', '--no-console'], { cwd: work, env: env() });
    try {
      await runner.waitFor(/^dev-runner: keeper does not start: its migrations stopped:$/, { ms: 30_000 });
      await runner.waitFor(
        /^ {2}services\/keeper\/migrations\/0001_visits\.sql: edited after it was applied to this database; restore it, and make the change in a new migration$/,
      );
      expect(runner.output.some((line) => line.startsWith('dev-runner: keeper on'))).toBe(false);
    } finally {
      await runner.kill();
      await writeFile(join(work, 'services/keeper/migrations/0001_visits.sql'), 'create table visits (id serial);\n');
    }
  });
});
