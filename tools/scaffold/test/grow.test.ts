import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import { type Cloud, cloudServices, identityToken, startCloud } from '@taco-run/cloud-emulator';
import { loadProject } from '@taco-run/project/services';
import { type Finished, fixtureProject, runNode } from '@taco-run/project/testing';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The day after the tutorial, as a new user lives it, in a copy of this repository whose project is
// the fixture's taco pair: a definitions file that shares a type with taco.ts, then `pnpm new:service`
// for a third service that serves it and calls tacoserver; then that service in its test, under the
// dev runner, under the emulator, and in the deploy plan.

const repository = fileURLToPath(new URL('../../../', import.meta.url));
let work: string;

/** A command in the copy, as the user runs it: pnpm and the project's scripts. */
function sh(command: string, args: string[]): Finished {
  try {
    const stdout = execFileSync(command, args, { cwd: work, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { code: 0, stdout, stderr: '' };
  } catch (error) {
    const { status, stdout, stderr } = error as { status: number; stdout: string; stderr: string };
    return { code: status, stdout, stderr };
  }
}

const menu = `import type { EatTacoRequest } from './taco.js';

/** MenuService knows what the kitchen cooks. */
export interface MenuService {
  /** Recommend suggests an order for a guest, and orders it. */
  recommend(request: RecommendRequest): EatTacoRequest;
}

/** RecommendRequest says who is hungry. */
export interface RecommendRequest {
  /**
   * Guest is who the order is for.
   * @example "Sammy Sosa"
   * @minLength 1
   */
  guest: string;
}
`;

/** What the user writes in place of the stub: an order, eaten at tacoserver. */
const recommend = `import type { MenuService } from '@taco-run/generated/server';
import type { Clients } from './clients.js';

export function menuService(clients: Clients): MenuService {
  return {
    async recommend(request) {
      const order = { name: request.guest, tacos: ['Carnitas', 'Pastor'] };
      await clients.tacoService.eatTaco(order);
      return order;
    },
  };
}
`;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'grow-'));
  // What a clone has: the tracked files (and this checkout's new ones), not node_modules or dist.
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], {
    cwd: repository,
    encoding: 'utf8',
  })
    .split('\0')
    .filter(Boolean);
  for (const file of files) {
    await cp(join(repository, file), join(work, file), { force: true }).catch((error: NodeJS.ErrnoException) => {
      // A file deleted in this checkout but not yet committed.
      if (error.code !== 'ENOENT') throw error;
    });
  }
  await useFixtureProject(work);
  // The lockfile is this checkout's, for its own services: the install brings it up to the copy's.
  expect(sh('pnpm', ['install', '--offline', '--no-frozen-lockfile'])).toMatchObject({ code: 0 });
  expect(sh('pnpm', ['--silent', 'generate'])).toMatchObject({ code: 0 });
}, 120_000);

afterAll(() => rm(work, { recursive: true, force: true }));

/**
 * Whatever services and definitions this checkout holds, the copy's project becomes the fixture's:
 * the taco pair and taco.ts, as a user's own project has them (their own package names, the
 * project's generated package).
 */
async function useFixtureProject(copy: string): Promise<void> {
  for (const entry of await readdir(join(copy, 'services'), { withFileTypes: true })) {
    if (entry.isDirectory()) await rm(join(copy, 'services', entry.name), { recursive: true });
  }
  await rm(join(copy, 'packages/definitions/src'), { recursive: true, force: true });
  await cp(join(fixtureProject, 'packages/definitions/src'), join(copy, 'packages/definitions/src'), {
    recursive: true,
  });
  for (const name of ['tacoserver', 'tacoclient']) {
    const to = join(copy, 'services', name);
    for (const part of ['service.json', 'src']) {
      await cp(join(fixtureProject, 'services', name, part), join(to, part), { recursive: true });
    }
    const { description: _, ...manifest } = JSON.parse(
      await readFile(join(fixtureProject, 'services', name, 'package.json'), 'utf8'),
    );
    manifest.name = name;
    manifest.dependencies['@taco-run/generated'] = 'workspace:*';
    await writeFile(join(to, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  }
}

describe('growing the project', { timeout: 120_000 }, () => {
  it('scaffolds a third service that serves a new API and calls tacoserver; it builds and its test passes', async () => {
    await writeFile(join(work, 'packages/definitions/src/menu.ts'), menu);
    expect(sh('pnpm', ['--silent', 'generate'])).toMatchObject({ code: 0 });
    const scaffold = sh('pnpm', [
      '--silent',
      'new:service',
      'menuserver',
      '--serves',
      'MenuService',
      '--calls',
      'tacoserver',
    ]);
    expect(scaffold).toMatchObject({ code: 0 });
    expect(scaffold.stdout).toContain('services/menuserver is ready');
    // Its pnpm install, whose output the user reads: the versions the project pins agree with one another.
    expect(scaffold.stdout).toContain('pnpm install');
    expect(scaffold.stdout).not.toContain('Issues with peer dependencies');
    expect(scaffold.stdout).not.toContain('cyclic workspace dependencies');
    expect(JSON.parse(await readFile(join(work, 'services/menuserver/service.json'), 'utf8'))).toEqual({
      $schema: '../../packages/project/service.schema.json',
      port: 8082,
      serves: ['MenuService'],
      calls: ['tacoserver'],
    });
    // The lockfile records the new service, so CI's frozen install passes.
    expect(await readFile(join(work, 'pnpm-lock.yaml'), 'utf8')).toContain('services/menuserver:');
    expect(sh('pnpm', ['install', '--offline', '--frozen-lockfile']).code).toBe(0);
    // The API docs, which name the service that serves each API, are regenerated with it.
    expect(sh('pnpm', ['--silent', 'generate', '--check'])).toMatchObject({
      code: 0,
      stdout: 'otogen: 1 targets up to date\n',
    });
    expect(await readFile(join(work, 'packages/generated/docs/API.md'), 'utf8')).toContain('menuserver');

    expect(sh('pnpm', ['--silent', 'build']).code).toBe(0);
    const tested = sh('pnpm', ['exec', 'vitest', 'run', 'services/menuserver']);
    expect(tested.code, tested.stdout + tested.stderr).toBe(0);
    expect(stripVTControlCharacters(tested.stdout)).toMatch(/Tests {2}2 passed \(2\)/);
    const checked = sh('pnpm', ['--silent', 'typecheck']);
    expect(checked.code, checked.stdout).toBe(0);
    expect(sh('pnpm', ['--silent', 'lint']).code).toBe(0);
  });

  it("keeps its test passing once its method is written to call tacoserver: the test's fake of tacoserver answers", async () => {
    const test = await readFile(join(work, 'services/menuserver/test/menuserver.test.ts'), 'utf8');
    expect(test).toMatch(/tacoserver = await serveFake\(\s*fakeTacoService\(\{/);
    expect(test).toContain('unroute = routeShortNames({ tacoserver: tacoserver.origin });');
    await writeFile(join(work, 'services/menuserver/src/menu-service.ts'), recommend);
    const tested = sh('pnpm', ['exec', 'vitest', 'run', 'services/menuserver']);
    expect(tested.code, tested.stdout + tested.stderr).toBe(0);
    expect(stripVTControlCharacters(tested.stdout)).toMatch(/Tests {2}2 passed \(2\)/);
  });

  it('refuses a taken name, an unknown callee or API and a taken port, each in one line, writing nothing', () => {
    const refusals = [
      [['menuserver'], 'new-service: services/menuserver exists already'],
      [['Menu_Two'], 'new-service: "Menu_Two" is not a Cloud Run service name:'],
      [['metadata'], 'new-service: "metadata" is a host name runsd leaves to the system'],
      [['test'], 'new-service: "test" is a folder name the build and test tools treat as theirs'],
      [['menutwo', '--calls', 'tacosever'], 'new-service: no service "tacosever" to call (did you mean "tacoserver"?)'],
      [
        ['menutwo', '--serves', 'MenuServce'],
        'new-service: no API "MenuServce" in the definitions (did you mean "MenuService"?)',
      ],
      [['menutwo', '--port', '8080'], "new-service: port 8080 is tacoserver's; pick another, or leave --port out"],
    ] as const;
    for (const [args, line] of refusals) {
      const result = sh('node', ['tools/scaffold/dist/cli.js', ...args]);
      expect(result.code).toBe(1);
      expect(result.stderr.startsWith(line)).toBe(true);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(sh('ls', ['services']).stdout.trim().split('\n')).toEqual([
      'bundle.ts',
      'menuserver',
      'tacoclient',
      'tacoserver',
      'tsup.service.config.ts',
    ]);
  });

  it('runs under the dev runner on free ports, where runsd takes menuserver to tacoserver by its short name', async () => {
    expect(sh('pnpm', ['--silent', 'build']).code).toBe(0);
    expect(sh('pnpm', ['exec', 'tsup', '--config', 'tools/dev-runner/tsup.config.ts', '--silent']).code).toBe(0);
    const runner = spawn(process.execPath, ['tools/dev-runner/dist/cli.js', '--free-ports'], {
      cwd: work,
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    });
    const output: string[] = [];
    createInterface({ input: runner.stdout }).on('line', (line) => output.push(line));
    const seen = async (match: RegExp) => {
      for (let waited = 0; waited < 15_000; waited += 50) {
        const found = output.map((line) => match.exec(line)).find((result) => result !== null);
        if (found) return found;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`no ${match} in:\n${output.join('\n')}`);
    };
    try {
      const ports = new Map<string, string>();
      for (const name of ['menuserver', 'tacoserver', 'tacoclient']) {
        const [, port = ''] = await seen(new RegExp(`^dev-runner: ${name} on http://localhost:(\\d+)`));
        ports.set(name, port);
        await seen(new RegExp(`^${name} +\\| .*listening`));
      }
      const answer = await request(`http://127.0.0.1:${ports.get('menuserver')}/oto/MenuService.Recommend`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ guest: 'Sammy Sosa' }),
      });
      expect(await answer.body.json()).toEqual({ name: 'Sammy Sosa', tacos: ['Carnitas', 'Pastor'] });
      await seen(/^tacoserver +\| .*POST \/oto\/TacoService\.EatTaco 200 .* from runsd version=/);
      // The map the dev runner gives every runsd, which takes the short name to the new service.
      const map = [...ports].map(([name, port]) => `${name}=http://localhost:${port}`).join(',');
      const resolved = await runNode(join(work, 'tools/runsd/dist/runsd.js'), ['resolve', 'menuserver'], {
        env: { PATH: process.env.PATH, RUNSD_SERVICES: map },
      });
      expect(resolved).toMatchObject({ code: 0, stdout: `http://localhost:${ports.get('menuserver')}\n` });
    } finally {
      const closed = once(runner, 'close');
      runner.kill('SIGINT');
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 15_000))]);
      try {
        process.kill(-(runner.pid as number), 'SIGKILL');
      } catch {
        // The runner stopped everything it started.
      }
    }
  });

  it('under the emulator, menuserver may call tacoserver, and a service along an undeclared edge gets 403', async () => {
    const project = loadProject(work);
    const cloud: Cloud = await startCloud({
      runsd: join(work, 'tools/runsd/dist/runsd.js'),
      projectHash: 'emu4tacos0',
      services: cloudServices(project, { projectId: 'taco-project', owner: 'developer@example.com' }),
    });
    try {
      const menuserver = cloud.service('menuserver');
      const answer = await request(`${menuserver.localUrl}/oto/MenuService.Recommend`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await cloud.userToken('menuserver')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ guest: 'Sammy Sosa' }),
      });
      expect(answer.statusCode).toBe(200);
      await answer.body.dump();
      // tacoclient's manifest does not call menuserver, so its identity is refused.
      const tacoclient = cloud.service('tacoclient');
      const token = await identityToken(tacoclient.metadata.host, menuserver.url);
      const refused = await request(menuserver.localUrl, { headers: { authorization: `Bearer ${token}` } });
      expect(refused.statusCode).toBe(403);
      await refused.body.dump();
    } finally {
      await cloud.close();
    }
  });

  it('deploys three services and grants exactly the declared edges; deploy:one menuserver works too', () => {
    const env = { GOOGLE_CLOUD_PROJECT: 'my-taco-project', CLOUD_RUN_PROJECT_HASH: 'abc123def', IMAGE_TAG: 'v1' };
    const deploy = (...args: string[]) =>
      execFileSync('node', ['deploy/dist/cli.js', ...args, '--dry-run'], {
        cwd: work,
        encoding: 'utf8',
        env: { ...process.env, ...env },
      });
    expect(sh('pnpm', ['exec', 'tsup', '--config', 'deploy/tsup.config.ts', '--silent']).code).toBe(0);
    const all = deploy('all');
    expect(all.match(/^ {2}gcloud run deploy (\S+)/gm)).toEqual([
      '  gcloud run deploy tacoserver',
      '  gcloud run deploy menuserver',
      '  gcloud run deploy tacoclient',
    ]);
    expect(all.match(/add-iam-policy-binding \S+ .*--member=\S+/g)).toEqual([
      'add-iam-policy-binding tacoserver --region=us-central1 --project=my-taco-project --member=serviceAccount:menuserver@my-taco-project.iam.gserviceaccount.com',
      'add-iam-policy-binding tacoserver --region=us-central1 --project=my-taco-project --member=serviceAccount:tacoclient@my-taco-project.iam.gserviceaccount.com',
    ]);
    const one = deploy('one', 'menuserver');
    expect(one).toContain('gcloud run deploy menuserver');
    expect(one).toContain('--member=serviceAccount:menuserver@my-taco-project.iam.gserviceaccount.com');
  });

  it('scaffolds a service with a database: its first migration, row types, typed accessor and a test against it', async () => {
    const scaffold = sh('pnpm', ['--silent', 'new:service', 'ledger', '--database']);
    expect(scaffold).toMatchObject({ code: 0 });
    expect(scaffold.stdout).toContain('services/ledger/migrations/0001_records.sql');
    expect(JSON.parse(await readFile(join(work, 'services/ledger/service.json'), 'utf8'))).toMatchObject({
      database: {},
    });
    // pnpm generate, which the scaffolder runs, typed its rows from the migration.
    expect(await readFile(join(work, 'services/ledger/src/database.generated.ts'), 'utf8')).toContain(
      'export interface Records {\n  id: GeneratedAlways<Int8>;\n  created_at: Generated<Timestamp>;\n}',
    );
    expect(sh('pnpm', ['--silent', 'generate', '--check']).code).toBe(0);
    const tested = sh('pnpm', ['exec', 'vitest', 'run', 'services/ledger']);
    expect(tested.code, tested.stdout + tested.stderr).toBe(0);
    expect(stripVTControlCharacters(tested.stdout)).toMatch(/Tests {2}2 passed \(2\)/);
    const checked = sh('pnpm', ['--silent', 'typecheck']);
    expect(checked.code, checked.stdout).toBe(0);
    expect(sh('pnpm', ['--silent', 'lint']).code).toBe(0);
  });

  it('a new TacoService method asks only the service that implements TacoService for it', async () => {
    const taco = join(work, 'packages/definitions/src/taco.ts');
    const text = await readFile(taco, 'utf8');
    await writeFile(
      taco,
      text.replace(
        '  eatTaco(request: EatTacoRequest): EatTacoResponse;',
        '  eatTaco(request: EatTacoRequest): EatTacoResponse;\n  /** Burp says thanks. */\n  burp(request: EatTacoRequest): EatTacoResponse;',
      ),
    );
    expect(sh('pnpm', ['--silent', 'generate']).code).toBe(0);
    const checked = sh('pnpm', ['--silent', 'typecheck']);
    const errors = checked.stdout.split('\n').filter((line) => line.includes('error TS'));
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.filter((line) => !line.startsWith(join('services', 'tacoserver')))).toEqual([]);
  });
});
