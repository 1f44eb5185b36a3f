import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import module from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { findPostgres, startPostgres, type TestPostgres } from '@taco-run/database/testing';
import type { SpanRecord } from '@taco-run/dev-console';
import { otlpReceiver } from '@taco-run/dev-console/otlp';
import { jsonLines, startService } from '@taco-run/project/process';
import { fixtureProject, loadedModulesPreload, runNode } from '@taco-run/project/testing';
import Fastify from 'fastify';
import pg from 'pg';
import { build } from 'tsup';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeBundle } from '../../scripts/node-bundle.js';
import { imageNodeMajor } from '../../tools/otogen/src/render/serializers.js';
import { imageCommand, migrationJobCommand } from '../image-command.mjs';

// What the image ships, without a Docker engine: the Dockerfile lints clean, and the
// layout its build stage assembles (with the same script) starts and answers.

const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

describe('deploy/Dockerfile', () => {
  it('passes dockerfilelint', async () => {
    const { stdout } = await run(join(root, 'deploy/node_modules/.bin/dockerfilelint'), [
      '-o',
      'json',
      join(root, 'deploy/Dockerfile'),
    ]);
    expect(JSON.parse(stdout)).toMatchObject({ totalIssues: 0 });
  });

  it('builds in two stages, runs as a non-root user, and has runsd as its entrypoint', async () => {
    const text = await readFile(join(root, 'deploy/Dockerfile'), 'utf8');
    // Both stages on one Node major: the one .ci/run tests the suite on (scripts/image-node.sh reads it from here).
    const majors = [...text.matchAll(/^FROM node:(\d+)-slim/gm)].map((match) => match[1]);
    expect(majors).toHaveLength(2);
    expect(new Set(majors).size).toBe(1);
    // otogen writes the precompiled serializers for this Node.
    expect(majors[0]).toBe(String(imageNodeMajor));
    // Only what the service, runsd and the migration job need is installed (pnpm adds the root's build tools).
    expect(text).toContain(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the Dockerfile's own build argument, as written in it
      'RUN pnpm install --frozen-lockfile --filter "./services/${build_target}..." --filter "@taco-run/runsd..." --filter "@taco-run/database..."',
    );
    expect(text).toContain(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the Dockerfile's own build argument, as written in it
      'RUN pnpm --filter @taco-run/runsd --filter @taco-run/database --filter "./services/${build_target}" build && node deploy/assemble-image.mjs "${build_target}" /out',
    );
    expect(text).toMatch(/^USER node$/m);
    expect(text).toMatch(/^ENTRYPOINT \["node", "\/app\/runsd\/runsd.js", "--", "node", "\/app\/service\/main.js"\]$/m);
  });

  it('keeps node_modules, tests and local state out of the build context', async () => {
    const ignored = (await readFile(join(root, '.dockerignore'), 'utf8')).split('\n');
    expect(ignored).toEqual(
      expect.arrayContaining(['**/node_modules', 'services/*/dist', 'services/*/test', '.git', '.cloud-emulator.json']),
    );
  });
});

describe('the image layout', () => {
  const layouts = { tacoserver: '', tacoclient: '' };

  beforeAll(async () => {
    for (const service of ['tacoserver', 'tacoclient'] as const) {
      layouts[service] = await mkdtemp(join(tmpdir(), `image-${service}-`));
      await run(process.execPath, [join(root, 'deploy/assemble-image.mjs'), service, layouts[service]], {
        cwd: fixtureProject,
      });
    }
  });

  afterAll(() => Promise.all(Object.values(layouts).map((dir) => rm(dir, { recursive: true, force: true }))));

  it('refuses a name that is not a folder of services/', async () => {
    const result = await runNode(
      join(root, 'deploy/assemble-image.mjs'),
      ['burritos', join(tmpdir(), 'never-written')],
      {
        cwd: fixtureProject,
      },
    );
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr: 'assemble-image: there is no services/burritos/service.json; is "burritos" a service?\n',
    });
  });

  it('holds only the bundles, a package.json and, on a Node that makes one, the compile cache', async () => {
    const dir = layouts.tacoserver;
    expect((await readdir(dir)).sort()).toEqual(
      [...(makesCompileCache ? ['compile-cache'] : []), 'package.json', 'runsd', 'service'].sort(),
    );
    expect(await readdir(join(dir, 'runsd'))).toEqual(expect.arrayContaining(['preload.js', 'runsd.js']));
    expect((await readdir(join(dir, 'runsd'))).every((file) => /\.js(\.map|\.LEGAL\.txt)?$/.test(file))).toBe(true);
    // The bundle, and the chunks it loads on demand: OpenTelemetry's SDK among them, read only when spans are exported.
    const service = await readdir(join(dir, 'service'));
    expect(service).toEqual(expect.arrayContaining(['main.js', 'main.js.map', 'main.js.LEGAL.txt']));
    expect(service.every((file) => /\.js(\.map|\.LEGAL\.txt)?$/.test(file))).toBe(true);
    expect(service.filter((file) => /^opentelemetry-\w+\.js$/.test(file))).toHaveLength(1);
    // The licences ship beside the code, which is then pure ASCII: Node reads it as Latin-1, not decoding UTF-8.
    expect(await readFile(join(dir, 'service/main.js.LEGAL.txt'), 'utf8')).toContain('MIT');
    for (const [folder, files] of [
      ['runsd', await readdir(join(dir, 'runsd'))],
      ['service', service],
    ] as const) {
      for (const file of files.filter((name) => name.endsWith('.js'))) {
        expect(/[^\0-\x7f]/.test(await readFile(join(dir, folder, file), 'latin1')), `${folder}/${file}`).toBe(false);
      }
    }
  });

  it('exports spans over OTLP when an endpoint is set, with the SDK from the chunk the layout ships, flushed as it stops', async () => {
    const spans: SpanRecord[] = [];
    const receiver = Fastify();
    await otlpReceiver(receiver, (batch) => spans.push(...batch));
    const endpoint = await receiver.listen({ host: '127.0.0.1', port: 0 });
    try {
      // A batch that would wait a minute: only the flush as the service stops can send the span.
      const tacoserver = await startLayout(layouts.tacoserver, {
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
        OTEL_BSP_SCHEDULE_DELAY: '60000',
      });
      try {
        const answer = await request(`${tacoserver.origin}/oto/TacoService.EatTaco`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"name":"Ana","tacos":["Fish"]}',
        });
        await answer.body.dump();
        expect(spans).toEqual([]);
      } finally {
        expect(await tacoserver.stop()).toBe(0);
      }
      expect(spans).toContainEqual(
        expect.objectContaining({ service: 'tacoserver', kind: 'server', name: 'TacoService.EatTaco' }),
      );
    } finally {
      await receiver.close();
    }
  });

  it('starts as the ENTRYPOINT does, runsd -- node main.js, and the two images answer the curl line', async () => {
    // Outside node_modules' reach: the bundles must be all they need.
    const tacoserver = await startLayout(layouts.tacoserver);
    const tacoclient = await startLayout(layouts.tacoclient, { RUNSD_SERVICES: `tacoserver=${tacoserver.origin}` });
    try {
      const health = await request(`${tacoserver.origin}/healthz`);
      expect(health.statusCode).toBe(200);
      await health.body.dump();
      const answer = await request(tacoclient.origin);
      expect(await answer.body.text()).toBe('Sammy Sosa has consumed 2 tacos');
    } finally {
      expect(await tacoclient.stop()).toBe(0);
      expect(await tacoserver.stop()).toBe(0);
    }
  });

  it("starts runsd and each service without the heavy builtins (https, http2, tls, crypto, Node's undici)", async () => {
    // Each costs a cold start 8 to 16 ms and 2 to 8 MB on Node 26; the bundles load them when first used.
    for (const layout of Object.values(layouts)) {
      const service = await startLayout(layout, { NODE_OPTIONS: `--require=${loadedModulesPreload}` });
      const health = await request(`${service.origin}/healthz`);
      await health.body.dump();
      expect(await service.stop()).toBe(0);
      expect(service.stderr.filter((line) => line.includes(' loaded: '))).toEqual([
        'main.js loaded: []',
        'runsd.js loaded: []',
      ]);
    }
  });

  it.skipIf(!makesCompileCache)('starts from the compile cache it ships, runsd and the service both', async () => {
    // Node says what it reads from the cache on stderr when asked to.
    const service = await startLayout(layouts.tacoserver, { NODE_DEBUG_NATIVE: 'COMPILE_CACHE' });
    try {
      const reads = service.stderr.filter((line) => line.includes('reading cache from'));
      for (const file of ['runsd/runsd.js', 'runsd/preload.js', 'service/main.js']) {
        expect(reads).toContainEqual(
          expect.stringMatching(new RegExp(`file://${layouts.tacoserver}/${file}\\.\\.\\..*success`)),
        );
      }
    } finally {
      expect(await service.stop()).toBe(0);
    }
  });
});

/** Node 22.1 and later write V8's compile cache; Node 20, which also runs these tests, does not. */
const makesCompileCache = typeof (module as { enableCompileCache?: unknown }).enableCompileCache === 'function';

/** A layout started as the image starts it: deploy/Dockerfile's ENTRYPOINT and ENV, read by imageCommand. */
function startLayout(layout: string, env: Record<string, string> = {}) {
  const { args, env: imageEnv } = imageCommand(layout, process.execPath);
  const bundle = args.at(-1) ?? '';
  // ENTRYPOINT is [runsd, --, node, main.js]: the wrapper is everything before `node main.js`.
  return startService(bundle, { ...imageEnv, ...env }, { wrapper: args.slice(0, -2) });
}

describe('the image layout of a service with a database', () => {
  let project: string;
  let layout: string;
  let assembled: { stdout: string };

  beforeAll(async () => {
    // A project of one service with a database: the reliability suite's, bundled as pnpm build bundles a service.
    project = await mkdtemp(join(tmpdir(), 'image-database-'));
    await mkdir(join(project, 'services/orders/migrations'), { recursive: true });
    await writeFile(join(project, 'services/orders/service.json'), '{ "port": 8080, "database": {} }\n');
    await writeFile(join(project, 'services/orders/migrations/0001_orders.sql'), 'create table orders (id int);\n');
    await build(
      nodeBundle({
        entry: { main: join(root, 'reliability/test/fixtures/orders-service.ts') },
        outDir: join(project, 'services/orders/dist'),
        silent: true,
      }),
    );
    layout = join(project, 'layout');
    assembled = await run(process.execPath, [join(root, 'deploy/assemble-image.mjs'), 'orders', layout], {
      cwd: project,
    });
  }, 60_000);

  afterAll(() => rm(project, { recursive: true, force: true }));

  it('also holds its migrations and the migration job that applies them', async () => {
    expect(await readdir(join(layout, 'migrations'))).toEqual(['0001_orders.sql']);
    expect(await readdir(join(layout, 'migrate'))).toEqual(expect.arrayContaining(['migrate.js']));
  });

  it('is refused, naming the folder, when its migrations folder is missing', async () => {
    await mkdir(join(project, 'services/ledger'), { recursive: true });
    await writeFile(join(project, 'services/ledger/service.json'), '{ "port": 8081, "database": {} }\n');
    await cp(join(project, 'services/orders/dist'), join(project, 'services/ledger/dist'), { recursive: true });
    const result = await runNode(join(root, 'deploy/assemble-image.mjs'), ['ledger', join(project, 'ledger')], {
      cwd: project,
    });
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'assemble-image: ledger has a database, and its migrations folder services/ledger/migrations is missing; make it, with 0001_<what>.sql as its first migration\n',
    });
  });

  it('holds no PGlite: the embedded database is for pnpm dev, and stays out of what ships', async () => {
    const files = (await readdir(layout, { recursive: true })).map(String);
    expect(files.filter((file) => /pglite|\.wasm$|\.data$/i.test(file))).toEqual([]);
    for (const file of files.filter((name) => name.endsWith('.js'))) {
      const text = await readFile(join(layout, file), 'latin1');
      expect(/electric-sql|pglite/i.test(text), file).toBe(false);
    }
    // Its driver, loaded at the first query, is there.
    expect(files.filter((file) => /^service\/database-driver-\w+\.js$/.test(file))).toHaveLength(1);
  });

  it('still gets its compile cache: it starts, and answers /healthz, without reaching a database', () => {
    expect(assembled.stdout).toContain(
      makesCompileCache ? 'assemble-image: compile cache for Node' : 'makes no compile cache; the image ships none',
    );
  });

  describe.skipIf('missing' in postgres && process.env.CI !== 'true')('its migration job', () => {
    let server: TestPostgres;
    beforeAll(async () => {
      if ('missing' in postgres) throw new Error(postgres.missing);
      server = await startPostgres(postgres.bin);
    }, 60_000);
    afterAll(() => server?.stop());

    /** The job as the deploy runs it, from the layout, with JSON lines on stdout. */
    const runJob = async (env: Record<string, string>) => {
      const { command, args } = migrationJobCommand(layout, process.execPath);
      const result = await runNode(args[0] ?? '', args.slice(1), { env: { PATH: process.env.PATH ?? '', ...env } });
      expect(command).toBe(process.execPath);
      return { code: result.code, lines: jsonLines(result.stdout.trim().split('\n')), stderr: result.stderr };
    };

    it('applies the migrations the image ships, once, and says so in JSON lines', async () => {
      const url = await server.createDatabase('orders_job');
      expect(await runJob({ DATABASE_URL: url })).toEqual({
        code: 0,
        lines: [
          { severity: 'INFO', message: 'migrate: applied 0001_orders.sql' },
          { severity: 'INFO', message: 'migrate: applied 1 migration' },
        ],
        stderr: '',
      });
      expect(await runJob({ DATABASE_URL: url })).toMatchObject({
        code: 0,
        lines: [{ severity: 'INFO', message: 'migrate: the database already has every migration' }],
      });
    });

    it('exits 1 naming the file when a migration fails, and 2 without DATABASE_URL', async () => {
      const url = await server.createDatabase('orders_broken');
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query('create table orders (id int)');
      await client.end();
      const failed = await runJob({ DATABASE_URL: url });
      expect(failed.code).toBe(1);
      expect(failed.lines).toEqual([
        {
          severity: 'ERROR',
          message:
            'migrate: migrations/0001_orders.sql: relation "orders" already exists; nothing of it was applied; the deploy stops here and the running revision keeps serving',
        },
      ]);
      expect(await runJob({})).toMatchObject({
        code: 2,
        lines: [
          {
            severity: 'ERROR',
            message: 'migrate: DATABASE_URL is not set; the deploy sets it on the job, as on the service',
          },
        ],
      });
    });
  });
});

const postgres = findPostgres();
