import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { connects, fixtureProject, nonLoopbackAddress, runNode } from '@taco-run/project/testing';
import { build } from 'tsup';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The command behind `pnpm dev:cloud` and `pnpm emulator:token`, as a developer runs them.

const root = fileURLToPath(new URL('../../../', import.meta.url));
const cli = join(root, 'tools/cloud-emulator/dist/cli.js');
let work: string;

beforeAll(async () => {
  await build({ config: join(root, 'tools/cloud-emulator/tsup.config.ts'), silent: true });
  // A project of its own, so the emulator's state file is this test's: the fixture's built services, linked.
  work = await mkdtemp(join(tmpdir(), 'cloud-emulator-cli-'));
  await symlink(join(fixtureProject, 'services'), join(work, 'services'));
  // The dev console reads the definitions' model from packages/generated.
  await symlink(join(fixtureProject, 'packages'), join(work, 'packages'));
});

afterAll(() => rm(work, { recursive: true, force: true }));

const run = (...args: string[]) => runNode(cli, args, { cwd: work });

describe('cloud-emulator', () => {
  it.each([
    [['--projecthash', 'abc'], 'unknown option --projecthash; did you mean --project-hash?'],
    [['--project-hash'], '--project-hash needs a value'],
    [['--deterministic', '--project-hash', 'abc'], '--deterministic and --project-hash cannot go together'],
    [['--project-hash', 'Not_A_Hash'], '--project-hash must be lowercase letters and digits, got "Not_A_Hash"'],
    [['stop'], 'unknown command stop'],
    [['token', '--deterministic'], 'token takes no options; they go with start'],
    [['call', 'http://tacoserver/'], 'call needs --as <service>: whose identity calls'],
    [['call', '--as', 'tacoclient'], 'call needs the URL to call: http://<service>/<path>'],
    [['--as', 'tacoclient'], '--as and --data go with call'],
    [['--console-port', '70000'], '--console-port takes a port number, got "70000"'],
  ])('refuses %j with exit 2 and the usage, and starts nothing', async (args, reason) => {
    const result = await run(...args);
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr.startsWith(`cloud-emulator: ${reason}\n\ncloud-emulator 0.1.0: `)).toBe(true);
    expect(result.stderr).toContain('usage:\n  cloud-emulator [start]');
    expect(existsSync(join(work, '.cloud-emulator.json'))).toBe(false);
  });

  it('prints its usage on stdout for --help and exits 0', async () => {
    const result = await run('--help');
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('usage:\n  cloud-emulator [start]');
  });

  it('says so when asked for a token with no emulator running', async () => {
    expect(await run('token')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'cloud-emulator: no emulator is running here; start one with `pnpm dev:cloud`\n',
    });
    expect(await run('call', '--as', 'tacoclient', 'http://tacoserver/')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'cloud-emulator: no emulator is running here; start one with `pnpm dev:cloud`\n',
    });
  });

  it('starts every service, gives the developer tokens that they admit, and cleans up on SIGTERM', async () => {
    // A process group of its own, so that whatever happens here, nothing it started outlives the test.
    const emulator: ChildProcess = spawn(process.execPath, [cli, '--console-port', '0'], {
      cwd: work,
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    });
    try {
      const lines = createInterface({ input: emulator.stdout as NodeJS.ReadableStream });
      let localUrl: string | undefined;
      let consoleUrl: string | undefined;
      const printed: string[] = [];
      for await (const line of lines) {
        printed.push(line);
        consoleUrl ??= /^cloud-emulator: dev console on (\S+) /.exec(line)?.[1];
        localUrl ??= /^ {2}curl -H "Authorization: Bearer \$\(pnpm --silent emulator:token\)" (\S+)$/.exec(line)?.[1];
        if (line === 'Ctrl-C stops everything.') break;
      }
      expect(localUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

      const token = await run('token');
      expect(token).toMatchObject({ code: 0, stderr: '' });
      const authorized = await request(localUrl as string, {
        headers: { authorization: `Bearer ${token.stdout.trim()}` },
      });
      expect(authorized.statusCode).toBe(200);
      expect(await authorized.body.text()).toBe('Sammy Sosa has consumed 2 tacos');
      expect((await run('token', 'tacoserver')).stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
      expect(await run('token', 'burritos')).toEqual({
        code: 2,
        stdout: '',
        stderr: 'cloud-emulator: the emulator runs no service "burritos"; it runs tacoclient, tacoserver\n',
      });
      const anonymous = await request(localUrl as string);
      await anonymous.body.dump();
      expect(anonymous.statusCode).toBe(401);

      // An edge checked by hand, with the caller's own identity: tacoclient calls tacoserver; not the other way.
      expect(
        await run(
          'call',
          '--as',
          'tacoclient',
          'http://tacoserver/oto/TacoService.EatTaco',
          '--data',
          '{"name":"Ana","tacos":["Fish"]}',
        ),
      ).toEqual({
        code: 0,
        stdout: '{"tacoConsumptionStatus":"Ana has consumed 1 tacos"}\n',
        stderr: 'cloud-emulator: tacoclient → tacoserver: POST /oto/TacoService.EatTaco answered 200\n',
      });
      const refused = await run('call', '--as', 'tacoserver', 'http://tacoclient/');
      expect(refused).toMatchObject({
        code: 1,
        stderr: 'cloud-emulator: tacoserver → tacoclient: GET / answered 403\n',
      });
      expect(refused.stdout).toContain('<h1>Error: Forbidden</h1>');
      expect(await run('call', '--as', 'tacoclient', 'http://burritos/')).toEqual({
        code: 2,
        stdout: '',
        stderr: 'cloud-emulator: the emulator runs no service "burritos" to call; it runs tacoclient, tacoserver\n',
      });

      // The console reaches the private services as the developer, with a token it gets from the emulator.
      expect(consoleUrl).toMatch(/^http:\/\/localhost:\d+$/);
      // Its address comes first, before the services' own lines.
      expect(printed.slice(0, 3)).toEqual([
        'cloud-emulator: starting the metadata servers, the front door and every service under runsd...',
        "cloud-emulator: the front door's URLs below are the way in; each service's own port listens on loopback only",
        `cloud-emulator: dev console on ${consoleUrl} (services, API explorer, traces, data)`,
      ]);
      // Only through the front door: from another interface, a service's own port takes no connection.
      const own = printed.flatMap((line) => /^\w+ +\| .* listening at (http:\S+)$/.exec(line)?.[1] ?? []);
      expect(own.map((origin) => new URL(origin).hostname)).toEqual(['127.0.0.1', '127.0.0.1']);
      const outside = nonLoopbackAddress();
      if (outside === undefined) console.warn('no interface but loopback here: the outside connection is not tried');
      else {
        for (const origin of own) {
          expect(await connects(outside, Number(new URL(origin).port))).toBe('ECONNREFUSED');
        }
      }
      const call = await request(`${consoleUrl}/api/call`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          service: 'tacoserver',
          method: 'TacoService.EatTaco',
          body: '{"name":"Ana","tacos":["Fish"]}',
        }),
      });
      expect(await call.body.json()).toMatchObject({
        status: 200,
        body: { tacoConsumptionStatus: 'Ana has consumed 1 tacos' },
      });
      // The explorer's "call as": a declared caller is admitted, an undeclared one gets the front door's 403.
      const callAs = async (as: string, service: string, method: string, body: string) => {
        const answer = await request(`${consoleUrl}/api/call`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ service, method, body, as }),
        });
        return { status: answer.statusCode, result: (await answer.body.json()) as { status: number } };
      };
      expect(
        await callAs('tacoclient', 'tacoserver', 'TacoService.EatTaco', '{"name":"Ana","tacos":["Fish"]}'),
      ).toMatchObject({ status: 200, result: { status: 200 } });
      expect(
        await callAs('tacoserver', 'tacoserver', 'TacoService.EatTaco', '{"name":"Ana","tacos":["Fish"]}'),
      ).toMatchObject({ status: 200, result: { status: 403 } });
      expect(await callAs('burritos', 'tacoserver', 'TacoService.EatTaco', '{}')).toEqual({
        status: 400,
        result: { error: '"as" may be one of tacoclient, tacoserver' },
      });
      const deadline = Date.now() + 10_000;
      let health: string[] = ['not asked yet'];
      while (Date.now() < deadline && !health.every((state) => state === 'healthy')) {
        const overview = (await (await request(`${consoleUrl}/api/overview`)).body.json()) as {
          runner: string;
          services: { health: string }[];
        };
        expect(overview.runner).toBe('pnpm dev:cloud');
        health = overview.services.map((service) => service.health);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(health).toEqual(['healthy', 'healthy']);

      const exited = once(emulator, 'exit');
      emulator.kill('SIGTERM');
      expect(await exited).toEqual([0, null]);
      expect(existsSync(join(work, '.cloud-emulator.json'))).toBe(false);
    } finally {
      try {
        process.kill(-(emulator.pid as number), 'SIGKILL');
      } catch {
        // The group is gone already: the emulator stopped everything it started.
      }
    }
  });
});
