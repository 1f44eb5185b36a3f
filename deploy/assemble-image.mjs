#!/usr/bin/env node
// Lays out what a service's image ships, from the bundles `pnpm build` made:
//   <out>/runsd/runsd.js, preload.js and chunks     the entrypoint (tools/runsd/dist as it is)
//   <out>/service/main.js, its map and any chunks  the service (services/<name>/dist as it is)
//   <out>/package.json                             {"type": "module"}: the bundles are ESM
//   <out>/migrate/migrate.js, <out>/migrations/    with a database: the migration job and the .sql it applies
//   <out>/compile-cache/                           V8's code cache of both, on Node versions that make one
// The Dockerfile runs it, and so do the test that starts this exact layout and `pnpm bench`.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import module from 'node:module';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { imageCommand } from './image-command.mjs';

const [service, out] = process.argv.slice(2);
// runsd comes from beside this script; the service from the project it runs in (the working directory).
const root = fileURLToPath(new URL('..', import.meta.url));
const project = process.cwd();
if (service === undefined || out === undefined || !/^[a-z][a-z\d-]*$/.test(service)) {
  process.stderr.write('usage: assemble-image.mjs <service> <out dir>   (a folder of services/)\n');
  process.exit(2);
}
if (!existsSync(join(project, 'services', service, 'service.json'))) {
  process.stderr.write(`assemble-image: there is no services/${service}/service.json; is "${service}" a service?\n`);
  process.exit(2);
}
// Both dist folders go whole: runsd loads parts of itself on demand (the metadata client, undici),
// and a service's bundle may load chunks of its own.
for (const [from, to] of [
  [join(root, 'tools/runsd/dist'), join(out, 'runsd')],
  [join(project, 'services', service, 'dist'), join(out, 'service')],
]) {
  await cp(from, to, { recursive: true }).catch((error) => {
    process.stderr.write(`assemble-image: ${from} is missing (${error.code}); run \`pnpm build\` first\n`);
    process.exit(1);
  });
}
await writeFile(join(out, 'package.json'), `${JSON.stringify({ private: true, type: 'module' }, null, 2)}\n`);
const manifest = JSON.parse(readFileSync(join(project, 'services', service, 'service.json'), 'utf8'));
if (manifest.database !== undefined) {
  // The deploy's migration job runs from this same image: `node /app/migrate/migrate.js`, beside the files it applies.
  const folder = join('services', service, manifest.database.migrations ?? 'migrations');
  const migrations = join(project, folder);
  await cp(join(root, 'packages/database/dist'), join(out, 'migrate'), { recursive: true }).catch((error) => {
    process.stderr.write(
      `assemble-image: packages/database/dist is missing (${error.code}); run \`pnpm build\` first\n`,
    );
    process.exit(1);
  });
  if (!existsSync(migrations)) {
    process.stderr.write(
      `assemble-image: ${service} has a database, and its migrations folder ${folder} is missing; make it, with 0001_<what>.sql as its first migration\n`,
    );
    process.exit(1);
  }
  await mkdir(join(out, 'migrations'));
  for (const file of readdirSync(migrations).filter((name) => name.endsWith('.sql'))) {
    await cp(join(migrations, file), join(out, 'migrations', file));
  }
}
process.stdout.write(`assemble-image: ${service} laid out in ${out}\n`);
process.stdout.write(`assemble-image: ${await writeCompileCache()}\n`);

/**
 * V8's compiled code for runsd and the service, made by starting them as the
 * ENTRYPOINT does until the service answers /healthz, so that a cold start
 * on Cloud Run reads code instead of compiling it. Node (22.1 and later)
 * writes it on exit into <out>/compile-cache, with paths relative to that
 * folder (NODE_COMPILE_CACHE_PORTABLE), so it holds wherever the layout is
 * copied; the Dockerfile points NODE_COMPILE_CACHE there. It is only ever an
 * optimization: a Node without the feature, or a service that cannot start
 * here (a secret it needs, say), gives an image without it, said in one line.
 */
async function writeCompileCache() {
  if (typeof module.enableCompileCache !== 'function') {
    return `Node ${process.version} makes no compile cache; the image ships none`;
  }
  const port = await freePort();
  // Exactly what the image runs (its ENTRYPOINT and ENV, NODE_COMPILE_CACHE among them), here.
  const { command, args, env } = imageCommand(out, process.execPath);
  const cache = env.NODE_COMPILE_CACHE ?? join(out, 'compile-cache');
  // A service with a database needs a DATABASE_URL to start, and connects only at its first query, which
  // /healthz makes none of: an address where nothing listens is enough.
  const database =
    manifest.database === undefined ? {} : { DATABASE_URL: 'postgresql://compile-cache@127.0.0.1:1/none' };
  const child = spawn(command, args, {
    env: { PATH: process.env.PATH, ...manifest.env, ...database, ...env, LOG_LEVEL: 'warn', PORT: String(port) },
    stdio: 'ignore',
  });
  const exited = once(child, 'exit');
  const answered = await answersHealth(port, exited);
  // It drains and exits on SIGTERM, writing the cache as it goes; one that does not is not waited for past Cloud Run's 10 s.
  child.kill('SIGTERM');
  const force = setTimeout(() => child.kill('SIGKILL'), 11_000);
  await exited;
  clearTimeout(force);
  const files = existsSync(cache) ? readdirSync(cache, { recursive: true }).length : 0;
  if (!answered)
    return `no compile cache: the service did not answer /healthz here, so the image ships ${files ? 'a partial one' : 'none'}`;
  return `compile cache for Node ${process.version} written to ${cache}`;
}

async function answersHealth(port, exited) {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const giveUp = Date.now() + 15_000;
  while (!gone && Date.now() < giveUp) {
    const status = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
