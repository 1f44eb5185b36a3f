import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import type { Model } from '@taco-run/otogen/model';
import { type CommandLine, type Options, parseCommandLine, reportUsageError } from '@taco-run/project/cli';
import { serviceNameProblem } from '@taco-run/project/manifest';
import { portNumber } from '@taco-run/project/ports';
import {
  generatedModel,
  loadProject,
  ManifestError,
  type Project,
  readGeneratedModel,
} from '@taco-run/project/services';
import { didYouMean } from '@taco-run/project/spelling';
import packageJson from '../package.json' with { type: 'json' };
import { type NewService, serviceFiles } from './templates.js';

const usage = `new-service ${packageJson.version}: a new service in services/, ready to build, test, run and deploy.

usage:
  pnpm new:service <name> [--serves <Api,...>] [--calls <service,...>] [--database] [--port <n>]

options:
  --serves <Api,...>     APIs from packages/definitions it serves: one stub per method, each
                         answering unimplemented (501) until written
  --calls <service,...>  services it calls: a generated client for each of their APIs
  --database             a PostgreSQL database of its own: the manifest's field, a first migration,
                         src/database.ts to open it, typed, and a test against it in this process
  --port <n>             its port under pnpm dev (default: the next free one after the others')
  -h, --help             this text
  --version              the scaffolder's version

It writes services/<name>/ (package.json, service.json, src/, a test), then runs pnpm install,
which links the workspace and records the service in pnpm-lock.yaml, and pnpm generate, whose API
docs name the services that serve each API.`;

const commandLine = {
  name: 'new-service',
  version: packageJson.version,
  usage,
  options: {
    serves: { type: 'string' },
    calls: { type: 'string' },
    port: { type: 'string' },
    database: { type: 'boolean' },
  },
  positionals: true,
} satisfies CommandLine<Options>;

/** A reason not to write anything: said in one line. */
class Refusal extends Error {}

async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(commandLine, argv);
  if (typeof parsed === 'number') return parsed;
  const [name, ...extra] = parsed.positionals;
  if (name === undefined) return reportUsageError(commandLine, 'name the service: pnpm new:service <name>');
  if (extra.length > 0) return reportUsageError(commandLine, `unexpected argument "${extra[0]}"`);
  const root = process.cwd();
  const project = loadProject(root);
  const model = readModel(root);
  const service = await describe(project, model, name, parsed.values);
  const dir = join(root, 'services', name);

  process.stdout.write(`new-service: writing services/${name}\n`);
  try {
    for (const file of serviceFiles(service, model)) {
      await mkdir(dirname(join(dir, file.path)), { recursive: true });
      await writeFile(join(dir, file.path), file.text);
      process.stdout.write(`  services/${name}/${file.path}\n`);
    }
    run(join(root, 'node_modules/.bin/biome'), ['check', '--write', '--log-level=error', `services/${name}`], root);
  } catch (error) {
    // A half-written service would break every command that reads the manifests.
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  process.stdout.write('new-service: pnpm install (links the workspace, records the service in pnpm-lock.yaml)\n');
  run('pnpm', ['install', '--prefer-offline', '--no-frozen-lockfile'], root);
  // The generated API docs name the service that serves each API: with a new one, they change too.
  process.stdout.write('new-service: pnpm generate (the API docs say which service serves each API)\n');
  run('pnpm', ['--silent', 'generate'], root);

  const served = service.serves.map((api) => api.name).join(', ');
  const next = [
    [`pnpm vitest run services/${name}`, 'its test'],
    ['pnpm dev', `every service, ${name} on port ${service.port}`],
    [
      `pnpm deploy:one ${name}`,
      `to Cloud Run${service.calls.length > 0 ? `, with its grants on ${service.calls.map((callee) => callee.name).join(', ')}` : ''}`,
    ],
  ];
  const width = Math.max(...next.map(([command = '']) => command.length));
  process.stdout.write(
    `\nservices/${name} is ready${served === '' ? '' : `: ${served} answers unimplemented until you write its methods in src/`}.\n\n${next
      .map(([command = '', what]) => `  ${command.padEnd(width)}   ${what}`)
      .join('\n')}\n`,
  );
  return 0;
}

/** The new service, checked against the project: every refusal is found before anything is written. */
async function describe(
  project: Project,
  model: Model,
  name: string,
  values: { serves?: string; calls?: string; port?: string; database?: boolean },
): Promise<NewService> {
  const nameProblem = serviceNameProblem(name);
  if (nameProblem !== undefined) throw new Refusal(nameProblem);
  if (existsSync(join(project.root, 'services', name))) throw new Refusal(`services/${name} exists already`);
  const names = project.services.map((service) => service.name);
  const apis = model.services.map((api) => api.name);
  const serves = list(values.serves).map((apiName) => {
    const api = model.services.find((candidate) => candidate.name === apiName);
    if (api !== undefined) return api;
    const near = didYouMean(apiName, apis);
    throw new Refusal(
      `no API "${apiName}" in the definitions${near === undefined ? '' : ` (did you mean "${near}"?)`}; the APIs are ${apis.join(', ') || 'none yet'} (after a change to packages/definitions, run pnpm generate)`,
    );
  });
  const calls = list(values.calls).map((callee) => {
    if (callee === name) throw new Refusal('a service does not call itself');
    if (!names.includes(callee)) {
      const near = didYouMean(callee, names);
      throw new Refusal(
        `no service "${callee}" to call${near === undefined ? '' : ` (did you mean "${near}"?)`}; the services are ${names.join(', ')}`,
      );
    }
    const target = project.service(callee);
    return { name: callee, basePath: target.basePath, apis: target.serves };
  });
  const taken = new Map(project.services.map((service) => [service.port, service.name]));
  let port: number;
  if (values.port !== undefined) {
    const given = portNumber(values.port);
    if (given === undefined || given < 1) {
      throw new Refusal(`--port takes a port number from 1 to 65535, got "${values.port}"`);
    }
    port = given;
    const owner = taken.get(port);
    if (owner !== undefined) throw new Refusal(`port ${port} is ${owner}'s; pick another, or leave --port out`);
  } else {
    port = await nextFreePort(Math.max(8079, ...taken.keys()) + 1, taken);
  }
  return {
    name,
    port,
    basePath: '/oto/',
    serves,
    calls,
    database: values.database === true,
    versions: versions(project.root),
  };
}

function list(value: string | undefined): string[] {
  return [
    ...new Set(
      (value ?? '')
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean),
    ),
  ];
}

function readModel(root: string): Model {
  const model = readGeneratedModel(root) as Model | undefined;
  if (model === undefined) throw new Refusal(`no ${generatedModel}; run pnpm generate first`);
  return model;
}

/** The first port from `from` that no service claims and nothing here listens on. */
async function nextFreePort(from: number, taken: ReadonlyMap<number, string>): Promise<number> {
  for (let port = from; port <= 65535; port++) {
    if (!taken.has(port) && (await canListen(port))) return port;
  }
  throw new Refusal(`no free port from ${from} up; pass --port`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
      .once('error', () => resolve(false))
      .listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** The versions the project's own packages depend on, so a new service matches them and the lockfile. */
function versions(root: string): NewService['versions'] {
  // undici and fastify are the runtime's peer dependencies: the services bring them.
  const dependencies = (path: string) => {
    const json = JSON.parse(readFileSync(join(root, path), 'utf8')) as Record<string, Record<string, string>>;
    return { ...json.peerDependencies, ...json.dependencies };
  };
  const service = dependencies('packages/service/package.json');
  const rpc = dependencies('packages/rpc/package.json');
  return { fastify: service.fastify ?? '*', zod: service.zod ?? '*', undici: rpc.undici ?? '*' };
}

function run(command: string, args: string[], cwd: string): void {
  const result = spawnSync(command, args, { cwd, stdio: 'inherit' });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed${result.error ? `: ${result.error.message}` : ''}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof Refusal) process.stderr.write(`new-service: ${error.message}\n`);
    else if (error instanceof ManifestError) {
      process.stderr.write(error.problems.map((line) => `new-service: ${line}\n`).join(''));
    } else process.stderr.write(`new-service: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
