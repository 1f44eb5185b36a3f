import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'tsup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureProject, runNode } from '../src/testing.js';

// Every command that reads the manifests refuses a wrong one before it does anything, with
// one line per problem that names the file and the field, and a non-zero exit.

const root = fileURLToPath(new URL('../../../', import.meta.url));
const commands: [string, string, string[]][] = [
  ['dev-runner', 'tools/dev-runner', ['--free-ports']],
  ['cloud-emulator', 'tools/cloud-emulator', []],
  ['deploy', 'deploy', ['all', '--dry-run']],
  ['new-service', 'tools/scaffold', ['menuserver']],
  // The docs it writes say where each API is served.
  ['otogen', 'tools/otogen', ['generate']],
];
let work: string;

beforeAll(async () => {
  for (const [, folder] of commands) await build({ config: join(root, folder, 'tsup.config.ts'), silent: true });
  work = await mkdtemp(join(tmpdir(), 'wrong-manifests-'));
}, 60_000);

afterAll(() => rm(work, { recursive: true, force: true }));

const good = { tacoserver: { port: 8080, serves: ['TacoService'] }, tacoclient: { port: 8081, calls: ['tacoserver'] } };
const cases: [string, Record<string, unknown>, string][] = [
  [
    'an unknown callee',
    { ...good, tacoclient: { port: 8081, calls: ['tacosever'] } },
    'services/tacoclient/service.json: calls: no service "tacosever" (did you mean "tacoserver"?)',
  ],
  [
    'a service calling itself',
    { ...good, tacoserver: { port: 8080, calls: ['tacoserver'] } },
    'services/tacoserver/service.json: calls: a service does not call itself ("tacoserver")',
  ],
  [
    'two services on one port',
    { ...good, tacoclient: { port: 8080, calls: ['tacoserver'] } },
    "services/tacoserver/service.json: port: 8080 is tacoclient's port too (services/tacoclient/service.json); give each service its own",
  ],
  [
    'an API no definitions file declares',
    { ...good, tacoserver: { port: 8080, serves: ['BurritoService'] } },
    'services/tacoserver/service.json: serves: no definitions file declares "BurritoService"; declare it in packages/definitions and run `pnpm generate`',
  ],
  [
    'a folder name that is not a Cloud Run service name',
    { ...good, Taco_Server: { port: 8082 } },
    'services/Taco_Server: "Taco_Server" is not a Cloud Run service name: lowercase letters, digits and hyphens, starting with a letter, at most 49 characters',
  ],
  [
    'an unknown field',
    { ...good, tacoserver: { port: 8080, serve: ['TacoService'] } },
    'services/tacoserver/service.json: unknown field "serve" (did you mean "serves"?)',
  ],
  [
    'a bad cloudRun value',
    { ...good, tacoserver: { port: 8080, cloudRun: { maxInstances: 0 } } },
    'services/tacoserver/service.json: cloudRun.maxInstances: Too small: expected number to be >=1',
  ],
];

describe.each(cases)('a project with %s', (_case, manifests, problem) => {
  beforeAll(async () => {
    await rm(work, { recursive: true, force: true });
    for (const [name, manifest] of Object.entries(manifests)) {
      await mkdir(join(work, 'services', name), { recursive: true });
      await writeFile(join(work, 'services', name, 'service.json'), JSON.stringify(manifest));
    }
    await mkdir(join(work, 'packages/definitions/src'), { recursive: true });
    await cp(join(fixtureProject, 'packages/definitions/src/taco.ts'), join(work, 'packages/definitions/src/taco.ts'));
    await mkdir(join(work, 'packages/generated'), { recursive: true });
    await writeFile(
      join(work, 'packages/generated/model.json'),
      JSON.stringify({ services: [{ name: 'TacoService' }] }),
    );
  });

  it.each(commands)('stops %s with the one-line reason', async (name, folder, args) => {
    const result = await runNode(join(root, folder, 'dist/cli.js'), args, {
      cwd: work,
      env: { PATH: process.env.PATH, GOOGLE_CLOUD_PROJECT: 'my-taco-project', IMAGE_TAG: 'v1' },
    });
    expect(result).toEqual({ code: 1, stdout: '', stderr: `${name}: ${problem}\n` });
  });
});
