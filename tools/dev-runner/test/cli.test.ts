import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixtureProject, runNode } from '@taco-run/project/testing';
import { build } from 'tsup';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRunner } from './runner.js';

// The command behind `pnpm dev` and `pnpm start`, run as `pnpm start` runs it, on free ports.

const root = fileURLToPath(new URL('../../../', import.meta.url));
const cli = join(root, 'tools/dev-runner/dist/cli.js');

beforeAll(() => build({ config: join(root, 'tools/dev-runner/tsup.config.ts'), silent: true }));

const run = (...args: string[]) => runNode(cli, args, { cwd: fixtureProject, timeout: 10_000 });

describe('dev-runner', () => {
  it.each([
    [['--wach'], 'unknown option --wach; did you mean --watch?'],
    [['--watch=yes'], '--watch does not take a value'],
    [['tacoserver'], 'unexpected argument "tacoserver"'],
    [['--port-offset', 'ten'], '--port-offset takes a whole number, got "ten"'],
    [['--port-offset=10', '--free-ports'], '--port-offset and --free-ports cannot go together'],
    [['--console-port', 'ninety'], '--console-port takes a port number, got "ninety"'],
    [['--console-port=9401', '--no-console'], '--console-port and --no-console cannot go together'],
  ])('refuses %j with exit 2 and the usage, and starts no service', async (args, reason) => {
    const result = await run(...args);
    // A started service would have printed its prefixed lines on stdout.
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr.startsWith(`dev-runner: ${reason}\n\ndev-runner 0.1.0: `)).toBe(true);
    expect(result.stderr).toContain('usage:\n  dev-runner [--watch]');
  });

  it.each([['--help'], ['-h']])('prints its usage on stdout for %s and exits 0', async (flag) => {
    const result = await run(flag);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('usage:\n  dev-runner [--watch]');
  });

  it('prints its version for --version', async () => {
    expect(await run('--version')).toEqual({ code: 0, stdout: 'dev-runner 0.1.0\n', stderr: '' });
  });
});

describe('dev-runner with --free-ports', () => {
  it('runs every service under runsd, tacoclient reaches tacoserver by its short name, and Ctrl-C stops both', async () => {
    const runner = startRunner(cli, ['--free-ports'], { cwd: fixtureProject });
    try {
      const [, port] = await runner.waitFor(/^dev-runner: tacoclient on http:\/\/localhost:(\d+)$/);
      expect(Number(port)).not.toBe(8081);
      await runner.waitFor(/^tacoclient \| .*listening/);
      await runner.waitFor(/^tacoserver \| .*listening/);
      const response = await request(`http://127.0.0.1:${port}/`);
      expect(await response.body.text()).toBe('Sammy Sosa has consumed 2 tacos');
      // One readable access line per service, each with its method, path, status and latency.
      await runner.waitFor(
        /^tacoserver \| \d\d:\d\d:\d\d INFO {2}POST \/oto\/TacoService\.EatTaco 200 [\d.]+ ms from runsd version=\S+; taco-run-rpc\/\S+$/,
      );
      await runner.waitFor(/^tacoclient \| \d\d:\d\d:\d\d INFO {2}GET \/ 200 [\d.]+ ms$/);
      // Ctrl-C: every service drains, and the runner exits 0.
      expect(await runner.interrupt()).toEqual([0, null]);
      expect(runner.output).toEqual(
        expect.arrayContaining([expect.stringMatching(/^tacoserver \| .* drained; exiting$/)]),
      );
      expect(runner.output).toEqual(
        expect.arrayContaining([expect.stringMatching(/^tacoclient \| .* drained; exiting$/)]),
      );
    } finally {
      await runner.kill();
    }
  });

  it('under the console, one curl gives one trace across both services: spans parent to child, and each line under its span', async () => {
    const runner = startRunner(cli, ['--free-ports', '--json'], { cwd: fixtureProject });
    try {
      // The console's address is the first line: the services send it their spans, and the runner their lines.
      const [, consoleUrl] = await runner.waitFor(/^dev-runner: dev console on (http:\/\/localhost:\d+) /);
      expect(runner.output[0]).toMatch(/^dev-runner: dev console on /);
      const [, port] = await runner.waitFor(/^dev-runner: tacoclient on http:\/\/localhost:(\d+)$/);
      await runner.waitFor(/^tacoclient \| .*listening/);
      await runner.waitFor(/^tacoserver \| .*listening/);
      const response = await request(`http://127.0.0.1:${port}/`);
      expect(await response.body.text()).toBe('Sammy Sosa has consumed 2 tacos');

      // Both services' access lines, as they wrote them: one trace, each service under a span of its own.
      const line = (service: string, path: string) =>
        runner
          .waitFor(new RegExp(`^${service} \\| (\\{.*"requestUrl":"${path}".*\\})$`))
          .then(([, json = '']) => JSON.parse(json));
      const client = await line('tacoclient', '/');
      const server = await line('tacoserver', '/oto/TacoService.EatTaco');
      const traceId = client['logging.googleapis.com/trace'];
      expect(traceId).toMatch(/^[\da-f]{32}$/);
      expect(server['logging.googleapis.com/trace']).toBe(traceId);
      expect(server['logging.googleapis.com/spanId']).not.toBe(client['logging.googleapis.com/spanId']);

      // The console has the spans: tacoserver's is the child of tacoclient's call, itself a child of GET /.
      const deadline = Date.now() + 10_000;
      let spans: { service: string; kind: string; name: string; spanId: string; parentSpanId?: string }[] = [];
      while (spans.length < 3 && Date.now() < deadline) {
        const traces = (await (await request(`${consoleUrl}/api/traces`)).body.json()) as {
          traceId: string;
          spans: typeof spans;
        }[];
        spans = traces.find((trace) => trace.traceId === traceId)?.spans ?? [];
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const page = spans.find((span) => span.service === 'tacoclient' && span.kind === 'server');
      const call = spans.find((span) => span.service === 'tacoclient' && span.kind === 'client');
      const eat = spans.find((span) => span.service === 'tacoserver');
      expect(page).toMatchObject({ name: 'GET /', spanId: client['logging.googleapis.com/spanId'] });
      expect(call).toMatchObject({ name: 'TacoService.EatTaco', parentSpanId: page?.spanId });
      expect(eat).toMatchObject({
        name: 'TacoService.EatTaco',
        parentSpanId: call?.spanId,
        spanId: server['logging.googleapis.com/spanId'],
      });
      // Ctrl-C right after a request, whose spans wait for the next batch: they reach the console,
      // still there, and no exporter waits out its time for a receiver that is gone.
      await (await request(`http://127.0.0.1:${port}/`)).body.text();
      expect(await runner.interrupt()).toEqual([0, null]);
      expect(runner.output.filter((text) => text.includes('telemetry:'))).toEqual([]);
    } finally {
      await runner.kill();
    }
  });

  it('starts no console with --no-console, and says nothing of one', async () => {
    const runner = startRunner(cli, ['--free-ports', '--no-console'], { cwd: fixtureProject });
    try {
      await runner.waitFor(/^tacoserver \| .*listening/);
      expect(runner.output.some((text) => text.includes('dev console'))).toBe(false);
      expect(await runner.interrupt()).toEqual([0, null]);
    } finally {
      await runner.kill();
    }
  });

  it('starts nothing when a manifest is wrong, and says which and why', async () => {
    const work = await mkdtemp(join(tmpdir(), 'dev-runner-'));
    try {
      await mkdir(join(work, 'services/tacoclient'), { recursive: true });
      await writeFile(
        join(work, 'services/tacoclient/service.json'),
        JSON.stringify({ port: 8081, calls: ['tacosever'] }),
      );
      const result = await runNode(cli, ['--free-ports'], { cwd: work });
      expect(result).toEqual({
        code: 1,
        stdout: '',
        stderr: 'dev-runner: services/tacoclient/service.json: calls: no service "tacosever"\n',
      });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});

describe('dev-runner and secrets', () => {
  let work: string;

  beforeAll(async () => {
    // A project with one service, whose bundle prints what it was given and then listens as any service does.
    work = await mkdtemp(join(tmpdir(), 'dev-runner-secrets-'));
    await mkdir(join(work, 'services/vault/dist'), { recursive: true });
    await writeFile(
      join(work, 'services/vault/service.json'),
      JSON.stringify({ port: 8090, env: { GREETING: 'hola' }, secrets: { DB_PASSWORD: 'db-password:latest' } }),
    );
    await writeFile(
      join(work, 'services/vault/dist/main.js'),
      "import { createServer } from 'node:http';\nconsole.log(['given', process.env.GREETING, process.env.DB_PASSWORD].join(' '));\ncreateServer().listen(Number(process.env.PORT), '127.0.0.1');\nprocess.on('SIGTERM', () => process.exit(0));\n",
    );
  });

  afterAll(() => rm(work, { recursive: true, force: true }));

  it('names a missing secret and starts nothing', async () => {
    expect(await runNode(cli, ['--free-ports'], { cwd: work, env: { PATH: process.env.PATH } })).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'dev-runner: secrets are missing, so nothing was started:\nvault needs DB_PASSWORD (db-password:latest): set it in services/vault/.secrets.local or the environment\n',
    });
  });

  it("gives the service its env and the secret from its .secrets.local file, and the environment's value over it", async () => {
    await writeFile(join(work, 'services/vault/.secrets.local'), 'DB_PASSWORD=from-the-file\n');
    for (const [env, expected] of [
      [{}, 'given hola from-the-file'],
      [{ DB_PASSWORD: 'from-the-environment' }, 'given hola from-the-environment'],
    ] as const) {
      const runner = startRunner(cli, ['--free-ports'], { cwd: work, env: { PATH: process.env.PATH, ...env } });
      try {
        const [, given] = await runner.waitFor(/^vault \| (given .*)$/);
        expect(given).toBe(expected);
      } finally {
        await runner.kill();
      }
    }
  });
});
