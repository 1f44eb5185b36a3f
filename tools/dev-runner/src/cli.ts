import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type CommandLine, type Options, parseCommandLine } from '@taco-run/project/cli';
import packageJson from '../package.json' with { type: 'json' };

const usage = `dev-runner ${packageJson.version}: every service side by side, each under runsd in local mode, as the container runs it.

usage:
  dev-runner [--watch]   (pnpm start) run the built bundles; with --watch (pnpm dev), rebuild
                         and restart a service on every change to its code or the packages
                         Ctrl-C stops everything.

options:
  --watch                rebuild and restart on change
  -h, --help             this text
  --version              the dev runner's version`;

const commandLine = {
  name: 'dev-runner',
  version: packageJson.version,
  usage,
  options: { watch: { type: 'boolean' } },
} satisfies CommandLine<Options>;

const services = [
  { name: 'tacoserver', color: 35, env: { PORT: '8080' } },
  // No TACOSERVER_URL: tacoclient calls http://tacoserver/oto/ and runsd (local mode) maps it
  // to localhost:8080 with runsd.services.json, exactly as it maps it to Cloud Run in the cloud.
  { name: 'tacoclient', color: 36, env: { PORT: '8081' } },
];

const parsed = parseCommandLine(commandLine, process.argv.slice(2));
if (typeof parsed === 'number') process.exit(parsed);
const watch = parsed.values.watch === true;

const root = process.cwd();
const runsd = join(root, 'tools/runsd/dist/runsd.js');
const width = Math.max(...services.map((service) => service.name.length));
const useColor = process.stdout.isTTY && !process.env.NO_COLOR;
/** Every process started here, so that a stop reaches each one and waits for it. */
const running = new Set<ChildProcess>();
let stopping = false;

for (const service of services) {
  const cwd = join(root, 'services', service.name);
  const prefix = label(service);
  let app: ChildProcess | undefined;
  const startApp = async () => {
    if (app) await terminate(app);
    if (stopping) return;
    // Under runsd, as in the container: `runsd -- node dist/main.js`.
    app = run(prefix, process.execPath, [runsd, '--', process.execPath, '--enable-source-maps', 'dist/main.js'], {
      cwd,
      env: { ...process.env, ...service.env },
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

function run(
  prefix: string,
  command: string,
  args: string[],
  options: SpawnOptions,
  onLine: (line: string) => void = () => {},
): ChildProcess {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
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

/** SIGTERM, then SIGKILL past Cloud Run's 10 s: a service drains, but is never left behind. */
async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const force = setTimeout(() => child.kill('SIGKILL'), 11_000);
  await exited;
  clearTimeout(force);
}

async function stop(exitCode: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  await Promise.all([...running].map(terminate));
  process.exit(exitCode);
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

function label(service: { name: string; color: number }): string {
  const text = service.name.padEnd(width);
  return useColor ? `\x1b[${service.color}m${text} |\x1b[0m` : `${text} |`;
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
