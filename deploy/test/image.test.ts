import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { runNode } from '@taco-run/project/testing';
import { startService } from '@taco-run/service/process';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

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
    expect(text).toContain('RUN pnpm install --frozen-lockfile');
    expect(text).toContain(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the Dockerfile's own build argument, as written in it
      'RUN pnpm --filter @taco-run/runsd --filter "./services/${build_target}" build && node deploy/assemble-image.mjs "${build_target}" /out',
    );
    expect(text).toMatch(/^USER node$/m);
    expect(text).toMatch(/^ENTRYPOINT \["node", "\/app\/runsd\/runsd.js", "--", "node", "\/app\/service\/main.js"\]$/m);
  });

  it('keeps node_modules, tests and local state out of the build context', async () => {
    const ignored = (await readFile(join(root, '.dockerignore'), 'utf8')).split('\n');
    expect(ignored).toEqual(
      expect.arrayContaining(['**/node_modules', '**/dist', '**/test', '.git', '.cloud-emulator.json']),
    );
  });
});

describe('the image layout', () => {
  const layouts = { tacoserver: '', tacoclient: '' };

  beforeAll(async () => {
    for (const service of ['tacoserver', 'tacoclient'] as const) {
      layouts[service] = await mkdtemp(join(tmpdir(), `image-${service}-`));
      await run(process.execPath, [join(root, 'deploy/assemble-image.mjs'), service, layouts[service]]);
    }
  });

  afterAll(() => Promise.all(Object.values(layouts).map((dir) => rm(dir, { recursive: true, force: true }))));

  it('refuses a name that is not a folder of services/', async () => {
    const result = await runNode(join(root, 'deploy/assemble-image.mjs'), [
      'burritos',
      join(tmpdir(), 'never-written'),
    ]);
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr: 'assemble-image: there is no services/burritos/service.json; is "burritos" a service?\n',
    });
  });

  it('holds only the bundles and a package.json', async () => {
    const dir = layouts.tacoserver;
    expect((await readdir(dir)).sort()).toEqual(['package.json', 'runsd', 'service']);
    expect(await readdir(join(dir, 'runsd'))).toEqual(expect.arrayContaining(['preload.js', 'runsd.js']));
    expect((await readdir(join(dir, 'runsd'))).every((file) => file.endsWith('.js') || file.endsWith('.js.map'))).toBe(
      true,
    );
    expect((await readdir(join(dir, 'service'))).sort()).toEqual(['main.js', 'main.js.map']);
  });

  it('starts as the ENTRYPOINT does, runsd -- node main.js, and the two images answer the curl line', async () => {
    // Outside node_modules' reach: the bundles must be all they need.
    const tacoserver = await startService(
      join(layouts.tacoserver, 'service/main.js'),
      { NODE_ENV: 'production' },
      { wrapper: [join(layouts.tacoserver, 'runsd/runsd.js'), '--'] },
    );
    const tacoclient = await startService(
      join(layouts.tacoclient, 'service/main.js'),
      { NODE_ENV: 'production', RUNSD_SERVICES: `tacoserver=${tacoserver.origin}` },
      { wrapper: [join(layouts.tacoclient, 'runsd/runsd.js'), '--'] },
    );
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
});
