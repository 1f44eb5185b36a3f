#!/usr/bin/env node
// Runs tacoserver (8080) and tacoclient (8081) side by side, for `pnpm dev`
// (--watch: rebuild and restart on every change) and `pnpm start` (the built
// bundles, as the container runs them). Output is prefixed with the service's
// name and its JSON log lines are shown as text. Ctrl-C stops everything.
// Each service runs under tools/runsd in local mode (build it first).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const watch = process.argv.includes('--watch');

const services = [
  { name: 'tacoserver', color: 35, env: { PORT: '8080' } },
  // No TACOSERVER_URL: tacoclient calls http://tacoserver/oto/ and runsd (local mode) maps it
  // to localhost:8080 with runsd.services.json, exactly as it maps it to Cloud Run in the cloud.
  { name: 'tacoclient', color: 36, env: { PORT: '8081' } },
];
const runsd = `${root}tools/runsd/dist/runsd.js`;

const width = Math.max(...services.map((service) => service.name.length));
const useColor = process.stdout.isTTY && !process.env.NO_COLOR;
/** Every process started here, so that a stop reaches each one and waits for it. */
const running = new Set();
let stopping = false;

for (const service of services) {
  const cwd = `${root}services/${service.name}`;
  const prefix = label(service);
  let app;
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
      if (!watch && !stopping) stop(code ?? 1);
    });
  };
  if (watch) {
    // tsup rebuilds on change; each successful build restarts the service from here, so this
    // script owns (and so stops) every service process, not tsup.
    const build = run(
      prefix,
      `${root}node_modules/.bin/tsup`,
      ['--config', '../tsup.service.config.ts', '--watch', 'src/**/*.ts', '--watch', '../../packages/*/src/**/*.ts'],
      { cwd, env: process.env },
      (line) => {
        if (line.includes('Build success')) startApp();
      },
    );
    build.on('exit', () => !stopping && stop(1));
  } else {
    startApp();
  }
}

function run(prefix, command, args, options, onLine = () => {}) {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.on('exit', () => running.delete(child));
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      onLine(line);
      process.stdout.write(`${prefix} ${readable(line)}\n`);
    });
  }
  return child;
}

/** SIGTERM, then SIGKILL past Cloud Run's 10 s: a service drains, but is never left behind. */
async function terminate(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const force = setTimeout(() => child.kill('SIGKILL'), 11_000);
  await exited;
  clearTimeout(force);
}

async function stop(exitCode) {
  if (stopping) return;
  stopping = true;
  await Promise.all([...running].map(terminate));
  process.exit(exitCode);
}

process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

function label(service) {
  const text = service.name.padEnd(width);
  return useColor ? `\x1b[${service.color}m${text} |\x1b[0m` : `${text} |`;
}

/** A Cloud Logging JSON line as `12:00:01 INFO  message {rest}`; anything else as it came. */
function readable(line) {
  if (!line.startsWith('{')) return line;
  try {
    const { severity = '', time = '', message = '', ...rest } = JSON.parse(line);
    const extra = Object.keys(rest).length === 0 ? '' : ` ${JSON.stringify(rest)}`;
    return `${String(time).slice(11, 19)} ${String(severity).padEnd(5)} ${message}${extra}`;
  } catch {
    return line;
  }
}
