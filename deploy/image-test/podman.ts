import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type ServiceProcess, startProcess } from '@taco-run/project/process';
import { request } from 'undici';

const exec = promisify(execFile);

/** podman's settings (CONTAINERS_CONF and the like), and where the base image came from. */
export interface ContainerHost {
  env: Record<string, string>;
  base: 'pulled' | 'stand-in';
}

/**
 * Runs scripts/container-host.sh, which sets podman up for this machine and
 * makes sure the base image is there (pulled, or a stand-in it makes), its
 * progress shown as it goes. Resolves with why not, when this machine cannot
 * run containers (the script's exit code 3).
 */
export async function containerHost(root: string): Promise<ContainerHost | { missing: string }> {
  const child = spawn('bash', [join(root, 'scripts/container-host.sh')], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    process.stderr.write(chunk);
  });
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  const lastLine = stderr.trim().split('\n').at(-1) ?? '';
  if (code === 3) return { missing: lastLine.replace(/^container-host: /, '') };
  if (code !== 0) throw new Error(`scripts/container-host.sh exited with ${code}: ${lastLine}`);
  const env = Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .map((line) => line.split(/=(.*)/s, 2) as [string, string]),
  );
  const { TACO_RUN_IMAGE_BASE: base, ...podmanEnv } = env;
  if (base !== 'pulled' && base !== 'stand-in') throw new Error(`container-host.sh printed no base: ${stdout}`);
  return { env: podmanEnv, base };
}

/** `podman <args>` with the host's settings; rejects with podman's own message. */
export async function podman(host: ContainerHost, args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await exec('podman', args, {
      env: { ...process.env, ...host.env },
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(`podman ${args.slice(0, 2).join(' ')} failed: ${stderr?.trim() ?? String(error)}`);
  }
}

export interface BuiltImage {
  service: string;
  tag: string;
  seconds: number;
  bytes: number;
}

/**
 * Builds a service's image as Cloud Build does (deploy/cloudbuild.yaml):
 * deploy/Dockerfile with the project as its context and the service as
 * build_target. The build's output goes to a log file, named when it fails.
 */
export async function buildImage(host: ContainerHost, root: string, service: string, log: string): Promise<BuiltImage> {
  const tag = `localhost/taco-run-image-test/${service}:latest`;
  const started = performance.now();
  const child = spawn(
    'podman',
    ['build', '--network=host', '-f', 'deploy/Dockerfile', '--build-arg', `build_target=${service}`, '-t', tag, '.'],
    { cwd: root, env: { ...process.env, ...host.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const out = createWriteStream(log);
  child.stdout.pipe(out, { end: false });
  child.stderr.pipe(out, { end: false });
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  await new Promise((resolve) => out.end(resolve));
  if (code !== 0) {
    const tail = (await readFile(log, 'utf8')).trim().split('\n').slice(-15).join('\n');
    throw new Error(`podman build of ${service} exited with ${code}; the end of ${log}:\n${tail}`);
  }
  const seconds = (performance.now() - started) / 1000;
  const bytes = Number((await podman(host, ['image', 'inspect', '--format', '{{.Size}}', tag])).trim());
  return { service, tag, seconds, bytes };
}

/**
 * An image of an assembled layout (deploy/assemble-image.mjs), for `pnpm
 * bench`, which starts the same layout in its other cold-start rows: the
 * Dockerfile's last stage as written (its FROM, ENV, USER and ENTRYPOINT),
 * with the layout copied in where the build stage's /out would be.
 */
export async function buildLayoutImage(host: ContainerHost, root: string, layout: string, tag: string): Promise<void> {
  const lines = (await readFile(join(root, 'deploy/Dockerfile'), 'utf8')).split('\n');
  const stage = lines.slice(lines.findLastIndex((line) => /^FROM\s/i.test(line))).join('\n');
  const copy = /^COPY --from=build (--chown=\S+) \/out \/app$/m;
  if (!copy.test(stage)) throw new Error("deploy/Dockerfile's last stage has no COPY --from=build --chown=… /out /app");
  const folder = await mkdtemp(join(tmpdir(), 'taco-run-layout-image-'));
  try {
    await writeFile(join(folder, 'Containerfile'), stage.replace(copy, 'COPY $1 . /app'));
    await podman(host, ['build', '--quiet', '-f', join(folder, 'Containerfile'), '-t', tag, layout]);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

export interface Container extends ServiceProcess {
  name: string;
  /** When `podman start` was run (performance.now()). */
  startedAt: number;
  /** Polls /healthz until it answers 200; resolves with the ms since `podman start`. */
  firstAnswer(): Promise<number>;
  /** The host's process ids of runsd (the container's PID 1) and its children. */
  processIds(): Promise<number[]>;
  /** Removes the container, stopping it first if it still runs. */
  remove(): Promise<void>;
}

/**
 * Creates a container of the image with the given environment, on the host's
 * network, and starts it attached: its stdout and stderr are the process's,
 * and a SIGTERM to `podman start` reaches runsd, as Cloud Run's does.
 * Resolves once the service listens on env.PORT.
 */
export async function startContainer(
  host: ContainerHost,
  image: string,
  env: Record<string, string>,
  { label }: { label: string },
): Promise<Container> {
  const name = `taco-run-test-${label}-${randomBytes(3).toString('hex')}`;
  const port = Number(env.PORT);
  if (!Number.isInteger(port) || port <= 0)
    throw new Error(`startContainer: set PORT to a free port (got ${env.PORT})`);
  await podman(host, ['create', '--name', name, '--network=host', ...envFlags(env), image]);
  const remove = async () => {
    await podman(host, ['rm', '--force', '--time=0', name]).catch(() => undefined);
  };
  const startedAt = performance.now();
  try {
    const started = await startProcess(
      ['podman', 'start', '--attach', name],
      { PATH: process.env.PATH ?? '', ...host.env },
      { port, startTimeoutMs: 30_000 },
    );
    const firstAnswer = async () => {
      for (;;) {
        const answer = await request(`${started.origin}/healthz`).catch(() => undefined);
        await answer?.body.dump();
        if (answer?.statusCode === 200) return performance.now() - startedAt;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    };
    const processIds = async () => {
      const pid = Number((await podman(host, ['inspect', '--format', '{{.State.Pid}}', name])).trim());
      const children = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
      return [pid, ...children.trim().split(/\s+/).filter(Boolean).map(Number)];
    };
    return { ...started, name, startedAt, firstAnswer, processIds, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}

/** A process's real user id, from /proc. */
export async function processUid(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const [, uid] = /^Uid:\s+(\d+)/m.exec(status) ?? [];
  if (uid === undefined) throw new Error(`no Uid line in /proc/${pid}/status`);
  return Number(uid);
}

/**
 * Runs a command of the image to its end in a container of its own (`podman
 * run --rm`), as a Cloud Run job runs one: `command` in place of the
 * ENTRYPOINT, as `gcloud run jobs deploy --command --args` sets it.
 */
export async function runJob(
  host: ContainerHost,
  image: string,
  command: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const [entrypoint, ...args] = command;
  if (entrypoint === undefined) throw new Error('runJob: an empty command');
  return new Promise((resolve) => {
    execFile(
      'podman',
      ['run', '--rm', '--network=host', ...envFlags(env), '--entrypoint', entrypoint, image, ...args],
      { env: { ...process.env, ...host.env }, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A container's environment as podman's flags: `--env KEY=value` each. */
function envFlags(env: Record<string, string>): string[] {
  return Object.entries(env).flatMap(([key, value]) => ['--env', `${key}=${value}`]);
}
