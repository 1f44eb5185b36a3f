import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LocalDatabase, migrateLocal, openLocalDatabases, typesBehind } from '@taco-run/database/local';
import {
  consoleOptions,
  consolePort,
  consoleTelemetry,
  consoleUsage,
  defaultConsolePort,
  startRunnerConsole,
} from '@taco-run/dev-console';
import { type CommandLine, type Options, parseCommandLine, reportUsageError } from '@taco-run/project/cli';
import { projectSecrets } from '@taco-run/project/local-secrets';
import { linePrinter } from '@taco-run/project/log-lines';
import { freePort } from '@taco-run/project/ports';
import {
  generatedModel,
  loadProject,
  ManifestError,
  type Project,
  type Service,
  serviceEnvironment,
} from '@taco-run/project/services';
import packageJson from '../package.json' with { type: 'json' };
import { Builder, type BuildResult } from './builder.js';
import { definitionPaths, regenerate, regenerateDatabaseTypes } from './definitions.js';
import { ServiceProcess } from './service-process.js';
import { isFolder, watchFolders } from './watcher.js';

const usage = `dev-runner ${packageJson.version}: every service in services/ side by side, each under runsd in local mode, as the container runs it.

usage:
  dev-runner [--watch] [--json] [--port-offset <n> | --free-ports]
      (pnpm start) run the built bundles; with --watch (pnpm dev), build them first, then on
      every change regenerate the definitions' code, rebuild and restart what changed.
      Ctrl-C stops everything.

options:
  --watch                build, then rebuild and restart on change
  --json                 show the services' log lines as they write them (also LOG_FORMAT=json)
  --port-offset <n>      listen on each service.json port plus n (a second copy beside the first)
  --free-ports           listen on free ports instead of the service.json ones (tests, CI)
${consoleUsage}
  -h, --help             this text
  --version              the dev runner's version

Each service gets its service.json env, its secrets from services/<name>/.secrets.local or the
environment, and runsd maps every short name (http://<name>/) to where that service listens.
The dev console (http://localhost:${defaultConsolePort}) shows the services, calls any method, and
shows each request's trace: the services send it their spans over OTLP.`;

const commandLine = {
  name: 'dev-runner',
  version: packageJson.version,
  usage,
  options: {
    watch: { type: 'boolean' },
    json: { type: 'boolean' },
    'port-offset': { type: 'string' },
    'free-ports': { type: 'boolean' },
    ...consoleOptions,
  },
} satisfies CommandLine<Options>;

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

const consoleAt = consolePort(values, values['free-ports'] === true);
if (typeof consoleAt === 'object') process.exit(reportUsageError(commandLine, consoleAt.error));

const root = process.cwd();
const project = loadOrExit(root);
// runsd and the console's page come from beside this tool: the project, the working directory, is only data.
const runsd = fileURLToPath(new URL('../../runsd/dist/runsd.js', import.meta.url));
const ports = await choosePorts(project.services, {
  offset: Number(offsetText ?? 0),
  free: values['free-ports'] === true,
});
const { values: secrets, missing } = projectSecrets(root, project.services, process.env);
if (missing !== undefined) {
  process.stderr.write(`dev-runner: secrets are missing, so nothing was started:\n${missing}\n`);
  process.exit(1);
}
// Where each service listens here (loopback, IPv4: see serve's host), what runsd's local mode maps its short name
// to, and the console calls. The address, not `localhost`, which may name ::1 first.
const localUrls = new Map(
  project.services.map((service) => [service.name, `http://127.0.0.1:${ports.get(service.name)}`]),
);
const runsdServices = [...localUrls].map(([name, url]) => `${name}=${url}`).join(',');

const say = (line: string) => process.stdout.write(`dev-runner: ${line}\n`);

// Each service's own database, opened and migrated before any service starts; the first lines say where each lives.
const databases = await openDatabases();
const blocked = new Set<string>();
for (const database of databases.values()) {
  const migrated = await migrateLocal(root, database);
  if (migrated.ok) {
    if (migrated.applied.length > 0) say(`${database.service.name}: applied ${migrated.applied.join(', ')}`);
  } else {
    blocked.add(database.service.name);
    say(`${database.service.name} does not start: its migrations stopped:\n${indent(migrated.problem.split('\n'))}`);
  }
}

const print = linePrinter({
  names: project.services.map((service) => service.name),
  json: values.json === true || process.env.LOG_FORMAT === 'json',
  color: process.stdout.isTTY && !process.env.NO_COLOR,
});

const devConsole =
  consoleAt === undefined
    ? undefined
    : await startRunnerConsole(
        {
          project,
          modelFile: generatedModel,
          urls: localUrls,
          port: consoleAt,
          pageDir: fileURLToPath(new URL('../../dev-console/dist/page', import.meta.url)),
          runner: watch ? 'pnpm dev' : 'pnpm start',
          databases: new Map([...databases].map(([name, database]) => [name, database.url])),
        },
        say,
      );

/** What the dev runner knows of each service: its process, and what its last build was made from. */
interface Running {
  service: Service;
  port: number;
  process: ServiceProcess;
  /** Every file its bundle was built from: a change to one of them rebuilds it. */
  inputs: Set<string>;
  /** The bundle's hash: a rebuild that gives the same bundle restarts nothing. */
  bundleHash?: string;
  /** The last build failed. */
  broken: boolean;
  crashed: boolean;
}

let stopping = false;
const running = project.services.map((service): Running => {
  const port = ports.get(service.name) ?? service.port;
  const entry: Running = {
    service,
    port,
    inputs: new Set(),
    broken: false,
    crashed: false,
    process: new ServiceProcess({
      cwd: join(root, service.dir),
      env: {
        ...process.env,
        ...serviceEnvironment(service),
        ...secrets[service.name],
        ...consoleTelemetry(devConsole?.otlpEndpoint, process.env),
        PORT: String(port),
        RUNSD_SERVICES: runsdServices,
        // Its own database's, and none for a service without one, whatever the runner's environment holds.
        DATABASE_URL: databases.get(service.name)?.url,
      },
      // Under runsd, as in the container: `runsd -- node dist/main.js`.
      command: process.execPath,
      args: [runsd, '--', process.execPath, 'dist/main.js'],
      port,
      onLine: (line) => {
        process.stdout.write(`${print(service.name, line)}\n`);
        devConsole?.addLogLine(service.name, line);
      },
      onUnexpectedExit: (code, signal) => {
        if (stopping) return;
        const how = signal === null ? `exit code ${code}` : signal;
        if (!watch) {
          // Without --watch there is nothing to wait for once a service is gone.
          say(`${service.name} stopped (${how}); stopping the others`);
          void stop(code ?? 1);
          return;
        }
        entry.crashed = true;
        say(`${service.name} crashed (${how}); the others keep running, and it restarts on the next change`);
      },
    }),
  };
  return entry;
});

const builder = new Builder(new URL('./build-worker.js', import.meta.url));
let closeWatcher = () => {};

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

if (watch) await startWatching();
else {
  for (const entry of running) {
    if (blocked.has(entry.service.name)) continue;
    say(`${entry.service.name} on http://localhost:${entry.port}${servesNote(entry.service)}`);
    void entry.process.restart();
  }
}

/**
 * `pnpm dev`: the generated code brought up to date with the definitions,
 * every service built (one line each) and started as soon as its bundle is
 * ready; then every change handled as it comes. (`pnpm dev` builds runsd.)
 */
async function startWatching(): Promise<void> {
  const generated = await regenerate(root);
  if (!generated.ok) reportDefinitionProblems(generated.problems);
  else if (generated.written.length > 0) say(`regenerated ${generated.written.length} files in ${generated.ms} ms`);
  // Migrations saved while pnpm dev was not running: their row types, before anything is built against them.
  if ([...databases.values()].some((database) => typesBehind(root, database))) {
    const types = await regenerateDatabaseTypes(root);
    if (!types.ok) say(`the row types could not be regenerated:\n${indent(types.problems)}`);
    else if (types.written.length > 0) say(`regenerated ${types.written.join(', ')} in ${types.ms} ms`);
  }
  await Promise.all(
    running.map(async (entry) => {
      const result = await build(entry);
      if (stopping) return;
      if (!result.ok) {
        say(`${entry.service.name} failed to build; it starts once it builds:\n${indent(result.errors)}`);
        return;
      }
      if (blocked.has(entry.service.name)) return;
      say(
        `${entry.service.name} built in ${result.ms} ms, on http://localhost:${entry.port}${servesNote(entry.service)}`,
      );
      await entry.process.restart();
    }),
  );
  const definitions = await definitionPaths(root);
  const folders = new Set([
    ...project.services.map((service) => join(root, service.dir, 'src')),
    ...packageSourceFolders(),
    ...definitions.map((path) => (isFolder(path) ? path : dirname(path))),
    ...[...databases.values()].map((database) => join(root, database.migrations)),
  ]);
  const isDefinition = (path: string) =>
    definitions.some((definition) => path === definition || path.startsWith(`${definition}${sep}`));
  const watcher = watchFolders([...folders], (paths) => handleChanges(paths, isDefinition));
  closeWatcher = () => watcher.close();
}

/** Files a batch already handled (generated code written here, say), by the modification time they had then. */
const handled = new Map<string, number>();

async function handleChanges(changed: Set<string>, isDefinition: (path: string) => boolean): Promise<void> {
  const started = performance.now();
  const paths = new Set([...changed].filter((path) => handled.get(path) !== modifiedAt(path)));
  if (paths.size === 0) return;
  let regeneratedIn: number | undefined;
  if ([...paths].some(isDefinition)) {
    const generated = await regenerate(root);
    // Nothing was written then: the other changes of the batch still go through.
    if (!generated.ok) reportDefinitionProblems(generated.problems);
    else {
      regeneratedIn = generated.ms;
      for (const file of generated.written) {
        const path = join(root, file);
        paths.add(path);
        handled.set(path, modifiedAt(path));
      }
    }
  }
  await handleMigrations(paths);
  const affected = running.filter(
    (entry) =>
      // A failed build read no inputs to go by.
      !blocked.has(entry.service.name) &&
      (entry.crashed ||
        entry.broken ||
        [...paths].some(
          (path) => entry.inputs.has(path) || path.startsWith(join(root, entry.service.dir, 'src', sep)),
        )),
  );
  await Promise.all(
    affected.map(async (entry) => {
      const previous = entry.bundleHash;
      const result = await build(entry);
      if (stopping) return;
      if (!result.ok) {
        say(
          `${entry.service.name} failed to build; it keeps running on its last good build:\n${indent(result.errors)}`,
        );
        return;
      }
      if (entry.bundleHash === previous && entry.process.running) {
        // Silence would leave the last error on screen as if it still held.
        if (result.fixed)
          say(`${entry.service.name} builds again, the same bundle as the one running (${result.ms} ms)`);
        return;
      }
      entry.crashed = false;
      await entry.process.restart();
      const ready = await entry.process.ready();
      if (stopping) return;
      if (!ready) {
        // A crash says so itself; a service that runs without answering /healthz is said here.
        if (entry.process.running) say(`${entry.service.name} restarted, but does not answer /healthz`);
        return;
      }
      const steps = [regeneratedIn === undefined ? '' : `regenerate ${regeneratedIn} ms, `, `build ${result.ms} ms`];
      say(
        `${entry.service.name} restarted, answering ${seconds(performance.now() - started)} after the change (${steps.join('')})`,
      );
    }),
  );
}

/**
 * A migration saved: applied to its service's database, and the row types
 * regenerated, whose new file then rebuilds and restarts the service with
 * the rest of the batch. A service its migrations stopped keeps running on
 * the schema it had, and starts again once they apply.
 */
async function handleMigrations(paths: Set<string>): Promise<void> {
  const touched = [...databases.values()].filter((database) =>
    [...paths].some((path) => path.startsWith(join(root, database.migrations, sep))),
  );
  if (touched.length === 0) return;
  for (const database of touched) {
    const name = database.service.name;
    const migrated = await migrateLocal(root, database);
    if (!migrated.ok) {
      say(
        `${name}'s migrations stopped; nothing of the failing file was applied:\n${indent(migrated.problem.split('\n'))}`,
      );
      return;
    }
    if (migrated.applied.length > 0) say(`${name}: applied ${migrated.applied.join(', ')}`);
    if (blocked.delete(name)) {
      const entry = running.find((candidate) => candidate.service.name === name);
      if (entry !== undefined) entry.crashed = true;
    }
  }
  const types = await regenerateDatabaseTypes(root);
  if (!types.ok) {
    say(`the row types could not be regenerated:\n${indent(types.problems)}`);
    return;
  }
  for (const file of types.written) {
    const path = join(root, file);
    paths.add(path);
    handled.set(path, modifiedAt(path));
  }
  if (types.written.length > 0) say(`regenerated ${types.written.join(', ')} in ${types.ms} ms`);
}

/** Opens each service's database, or exits saying why: a service would otherwise start without one. */
async function openDatabases(): Promise<Map<string, LocalDatabase>> {
  try {
    return await openLocalDatabases(root, project.services, process.env, (database) =>
      say(`${database.service.name}'s database: ${database.where}`),
    );
  } catch (error) {
    process.stderr.write(`dev-runner: ${(error as Error).message}\n`);
    process.exit(1);
  }
}

/** Builds a service, and notes what its bundle was made from and what it holds. `fixed`: the last build had failed. */
async function build(entry: Running): Promise<BuildResult & { fixed: boolean }> {
  const result = await builder.build(join(root, entry.service.dir));
  if (result.inputs.length > 0) entry.inputs = new Set(result.inputs);
  if (result.ok) entry.bundleHash = fileHash(join(root, entry.service.dir, 'dist/main.js'));
  const fixed = entry.broken && result.ok;
  entry.broken = !result.ok;
  return { ...result, fixed };
}

function reportDefinitionProblems(problems: readonly string[]): void {
  say(
    `the definitions have ${problems.length} problem(s); the services keep running on the last good code:\n${indent(problems)}`,
  );
}

/** The project's shared code, packages/<name>/src: the services bundle it. */
function packageSourceFolders(): string[] {
  const packages = join(root, 'packages');
  if (!isFolder(packages)) return [];
  return readdirSync(packages)
    .map((name) => join(packages, name, 'src'))
    .filter(isFolder);
}

function modifiedAt(path: string): number {
  return statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? -1;
}

function fileHash(path: string): string | undefined {
  try {
    return createHash('sha1').update(readFileSync(path)).digest('hex');
  } catch {
    return undefined;
  }
}

function indent(lines: readonly string[]): string {
  return lines.map((line) => `  ${line}`).join('\n');
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function servesNote(service: Service): string {
  return service.serves.length === 0 ? '' : ` (serves ${service.serves.join(', ')})`;
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

/** Ctrl-C, or a service gone under `pnpm start`: every service drains and stops, then the dev runner exits. */
async function stop(exitCode: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  closeWatcher();
  // The services before the console: each flushes its last spans to the console's receiver as it stops.
  await Promise.all([...running.map((entry) => entry.process.stop()), builder.close()]);
  // The databases after the services, which may still be writing as they drain.
  await Promise.all([...databases.values()].map((database) => database.close()));
  await devConsole?.close();
  process.exit(exitCode);
}
