import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type CommandLine, type Options, parseCommandLine, reportUsageError } from '@taco-run/project/cli';
import { projectSecrets } from '@taco-run/project/local-secrets';
import { freePort } from '@taco-run/project/ports';
import { loadProject, ManifestError, type Project, type Service, serviceEnvironment } from '@taco-run/project/services';
import packageJson from '../package.json' with { type: 'json' };

const usage = `dev-runner ${packageJson.version}: every service in services/ side by side, each under runsd in local mode, as the container runs it.

usage:
  dev-runner [--watch] [--port-offset <n> | --free-ports]
      (pnpm start) run the built bundles; with --watch (pnpm dev), rebuild and restart
      a service on every change to its code or the packages. Ctrl-C stops everything.

options:
  --watch                rebuild and restart on change
  --port-offset <n>      listen on each service.json port plus n (a second copy beside the first)
  --free-ports           listen on free ports instead of the service.json ones (tests, CI)
  -h, --help             this text
  --version              the dev runner's version

Each service gets its service.json env, its secrets from services/<name>/.secrets.local or the
environment, and runsd maps every short name (http://<name>/) to where that service listens.`;

const commandLine = {
  name: 'dev-runner',
  version: packageJson.version,
  usage,
  options: { watch: { type: 'boolean' }, 'port-offset': { type: 'string' }, 'free-ports': { type: 'boolean' } },
} satisfies CommandLine<Options>;

/** ANSI colours for the prefixes, one per service in turn. */
const colors = [35, 36, 33, 32, 34, 31];

const parsed = parseCommandLine(commandLine, process.argv.slice(2));
if (typeof parsed === 'number') process.exit(parsed);
const { values } = parsed;
const watch = values.watch === true;
const offsetText = values['port-offset'];
if (offsetText !== undefined && !/^-?\d+$/.test(offsetText)) {
  process.exit(reportUsageError(commandLine, `--port-offset takes a whole number, got "${offsetText}"`));
}
if (offsetText !== undefined && values['free-ports']) {
  process.exit(reportUsageError(commandLine, '--port-offset and --free-ports cannot go together'));
}

const root = process.cwd();
const project = loadOrExit(root);
const runsd = join(root, 'tools/runsd/dist/runsd.js');
const ports = await choosePorts(project.services, {
  offset: Number(offsetText ?? 0),
  free: values['free-ports'] === true,
});
const { values: secrets, missing } = projectSecrets(root, project.services, process.env);
if (missing !== undefined) {
  process.stderr.write(`dev-runner: secrets are missing, so nothing was started:\n${missing}\n`);
  process.exit(1);
}
// runsd's local mode: every short name goes to where that service listens here.
const runsdServices = project.services
  .map((service) => `${service.name}=http://localhost:${ports.get(service.name)}`)
  .join(',');

const width = Math.max(...project.services.map((service) => service.name.length));
const useColor = process.stdout.isTTY && !process.env.NO_COLOR;
/** Every process started here, so that a stop reaches each one and waits for it. */
const running = new Set<ChildProcess>();
let stopping = false;

for (const [index, service] of project.services.entries()) {
  const port = ports.get(service.name);
  const serves = service.serves.length === 0 ? '' : ` (serves ${service.serves.join(', ')})`;
  process.stdout.write(`dev-runner: ${service.name} on http://localhost:${port}${serves}\n`);
  const cwd = join(root, service.dir);
  const prefix = label(service.name, colors[index % colors.length] ?? 0);
  const env = {
    ...process.env,
    ...serviceEnvironment(service),
    ...secrets[service.name],
    PORT: String(port),
    RUNSD_SERVICES: runsdServices,
  };
  let app: ChildProcess | undefined;
  const startApp = async () => {
    if (app) await terminate(app);
    if (stopping) return;
    // Under runsd, as in the container: `runsd -- node dist/main.js`.
    app = run(prefix, process.execPath, [runsd, '--', process.execPath, '--enable-source-maps', 'dist/main.js'], {
      cwd,
      env,
    });
    app.on('exit', (code, signal) => {
      process.stdout.write(`${prefix} exited with ${signal ?? code}\n`);
      // Without --watch there is nothing to wait for once a service is gone.
      if (!watch && !stopping) void stop(code ?? 1);
    });
  };
  if (watch) {
    // tsup rebuilds on change; each successful build restarts the service from here, so this
    // process owns (and so stops) every service process, not tsup.
    const build = run(
      prefix,
      join(root, 'node_modules/.bin/tsup'),
      ['--config', '../tsup.service.config.ts', '--watch', 'src/**/*.ts', '--watch', '../../packages/*/src/**/*.ts'],
      { cwd, env: process.env },
      (line) => {
        if (line.includes('Build success')) void startApp();
      },
    );
    build.on('exit', () => !stopping && void stop(1));
  } else {
    void startApp();
  }
}

/** The project's services, or an exit with the manifests' problems: nothing starts when they are wrong. */
function loadOrExit(root: string): Project {
  try {
    return loadProject(root);
  } catch (error) {
    if (!(error instanceof ManifestError)) throw error;
    process.stderr.write(`${error.problems.map((problem) => `dev-runner: ${problem}`).join('\n')}\n`);
    process.exit(1);
  }
}

async function choosePorts(
  services: readonly Service[],
  { offset, free }: { offset: number; free: boolean },
): Promise<Map<string, number>> {
  const ports = new Map<string, number>();
  for (const service of services) ports.set(service.name, free ? await freePort() : service.port + offset);
  return ports;
}

function run(
  prefix: string,
  command: string,
  args: string[],
  options: SpawnOptions,
  onLine: (line: string) => void = () => {},
): ChildProcess {
  // A process group per child: a stop reaches runsd and the app under it (and anything either started) at once.
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  running.add(child);
  child.on('exit', () => running.delete(child));
  for (const stream of [child.stdout, child.stderr]) {
    if (stream === null) continue;
    createInterface({ input: stream }).on('line', (line) => {
      onLine(line);
      process.stdout.write(`${prefix} ${readable(line)}\n`);
    });
  }
  return child;
}

/** SIGTERM to the child's whole group, then SIGKILL past Cloud Run's 10 s: a service drains, but is never left behind. */
async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  signalGroup(child, 'SIGTERM');
  const force = setTimeout(() => signalGroup(child, 'SIGKILL'), 11_000);
  await exited;
  clearTimeout(force);
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    // The group has gone already.
  }
}

async function stop(exitCode: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  await Promise.all([...running].map(terminate));
  process.exit(exitCode);
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

function label(name: string, color: number): string {
  const text = name.padEnd(width);
  return useColor ? `\x1b[${color}m${text} |\x1b[0m` : `${text} |`;
}

/** A Cloud Logging JSON line as `12:00:01 INFO  message {rest}`; anything else as it came. */
function readable(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const { severity = '', time = '', message = '', ...rest } = JSON.parse(line) as Record<string, unknown>;
    const extra = Object.keys(rest).length === 0 ? '' : ` ${JSON.stringify(rest)}`;
    return `${String(time).slice(11, 19)} ${String(severity).padEnd(5)} ${message}${extra}`;
  } catch {
    return line;
  }
}
