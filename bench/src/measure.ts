import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export { freePort } from '@taco-run/project/process';

import { request } from 'undici';

export interface Load {
  requestsPerSecond: number;
  p50: number;
  p99: number;
}

export interface LoadOptions {
  url: string;
  method?: 'GET' | 'POST';
  /** An absolute-form path, to load a forward proxy. */
  path?: string;
  body?: string;
  seconds: number;
  connections?: number;
  headers?: Record<string, string>;
}

/**
 * The cores the bench pins processes to: the server under test on one, what loads it on the other, as a Cloud Run
 * instance has its vCPU to itself. Empty prefixes, with the reason, where the machine cannot: then the server and
 * its load share every core, which pulls every ratio toward 1.
 */
export interface Pinning {
  server: string[];
  load: string[];
  /** Why nothing is pinned, when it is not. */
  missing?: string;
}

let pinning: Pinning | undefined;

export function cores(): Pinning {
  pinning ??= findCores();
  return pinning;
}

function findCores(): Pinning {
  try {
    // Both cores must be in this process's affinity, which taskset checks when asked to use them.
    for (const core of ['0', '1']) execFileSync('taskset', ['-c', core, 'true'], { stdio: 'ignore' });
  } catch {
    return {
      server: [],
      load: [],
      missing: 'taskset could not pin to cores 0 and 1 (one core, or no taskset: Debian has it in util-linux)',
    };
  }
  return { server: ['taskset', '-c', '0'], load: ['taskset', '-c', '1'] };
}

const loadScript = fileURLToPath(new URL('../dist/load.js', import.meta.url));

/**
 * autocannon in a process of its own (bench/src/load.ts), on the load core, against a server in another. Any
 * non-2xx answer or error fails the run.
 */
export async function load(options: LoadOptions): Promise<Load> {
  const [program = process.execPath, ...args] = [
    ...cores().load,
    process.execPath,
    loadScript,
    JSON.stringify(options),
  ];
  // PATH only: the harness runs under tsx, whose loader must not reach the load generator.
  const { stdout } = await promisify(execFile)(program, args, { env: { PATH: process.env.PATH } });
  const result = JSON.parse(stdout) as Load & { non2xx: number; errors: number; timeouts: number };
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new Error(
      `${options.url}${options.path ?? ''}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`,
    );
  }
  return { requestsPerSecond: result.requestsPerSecond, p50: result.p50, p99: result.p99 };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? at(sorted, middle) : (at(sorted, middle - 1) + at(sorted, middle)) / 2;
}

/** The element at an index the caller knows is there, or a clear error. */
function at(values: readonly number[], index: number): number {
  const value = values[index];
  if (value === undefined) throw new RangeError(`no value at ${index} of ${values.length}`);
  return value;
}

/**
 * How a contender compares with a baseline measured in the same rounds: the median of the
 * round-by-round ratios. On a shared machine whose speed drifts between rounds, a ratio of two
 * runs a few seconds apart moves far less than either run does, so this is steadier than a ratio
 * of the two medians.
 */
export function pairedRatio(values: readonly number[], baseline: readonly number[]): number {
  if (values.length !== baseline.length) throw new RangeError(`${values.length} rounds against ${baseline.length}`);
  return median(values.map((value, round) => value / at(baseline, round)));
}

export function medianLoad(runs: readonly Load[]): Load {
  return {
    requestsPerSecond: median(runs.map((run) => run.requestsPerSecond)),
    p50: median(runs.map((run) => run.p50)),
    p99: median(runs.map((run) => run.p99)),
  };
}

/** Peak resident memory of a live process, from Linux's /proc (VmHWM), in MB. */
export function peakRssMb(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match === null ? Number.NaN : Number(match[1]) / 1024;
}

export interface ColdStart {
  ms: number;
  /** Peak RSS of the spawned process (runsd itself, when it wraps the service), in MB. */
  rssMb: number;
  /** Peak RSS of the service: the spawned process, or its child when runsd wraps it, in MB. */
  serviceRssMb: number;
}

/** The process's children, from Linux's /proc. */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** From spawn to the first 200 on /healthz, polling every 2 ms; then the process is stopped by its PID. */
export async function coldStart(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  port: number,
): Promise<ColdStart> {
  const started = performance.now();
  const child: ChildProcess = spawn(command, args, { env: { ...env, PORT: String(port) }, stdio: 'ignore' });
  const exited = once(child, 'exit');
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${command} ${args.join(' ')} exited before answering`);
      try {
        const response = await request(`http://127.0.0.1:${port}/healthz`);
        await response.body.dump();
        if (response.statusCode === 200) break;
      } catch {
        // Not listening yet.
      }
      if (performance.now() - started > 20_000) throw new Error(`${command} did not answer within 20 s`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const ms = performance.now() - started;
    // It answered, so it was spawned and has a pid.
    const pid = child.pid as number;
    const [service] = childrenOf(pid);
    return { ms, rssMb: peakRssMb(pid), serviceRssMb: peakRssMb(service ?? pid) };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

/** From spawn to exit, in ms; stdout and stderr ignored. */
export async function timeToExit(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const started = performance.now();
  const child = spawn(command, args, { env, stdio: 'ignore' });
  const [code] = await once(child, 'exit');
  const ms = performance.now() - started;
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code}`);
  return ms;
}

/**
 * The peak RSS (VmHWM) of a Node process that does nothing but read it, in MB: its own /proc entry, since
 * getrusage's maxRSS in the parent would count the harness's, which the fork copied.
 */
export function selfReportedPeakRss(node: string): number {
  const kb = execFileSync(
    node,
    ['-e', "process.stdout.write(/VmHWM:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1])"],
    { env: { PATH: process.env.PATH }, encoding: 'utf8' },
  );
  return Number(kb) / 1024;
}

/**
 * The same order in even rounds and reversed in odd ones: each contender stays next to its neighbours, so a
 * contender placed beside its baseline is measured seconds from it (a drift in the machine's speed between the
 * two moves their ratio less), and goes before it and after it in turn.
 */
export function backAndForth<T>(items: readonly T[], round: number): T[] {
  return round % 2 === 0 ? [...items] : [...items].reverse();
}

/** Rounds that alternate the order of the contenders, so no one always runs first or last. */
export function rotate<T>(items: readonly T[], round: number): T[] {
  const shift = round % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

/**
 * One request at a time, timed each with performance.now(): autocannon's
 * percentiles are whole milliseconds, too coarse for a sub-millisecond hop.
 * `path` may be absolute (`http://tacoserver/...`) to go through a forward proxy.
 */
export async function sequentialLatency(
  origin: string,
  path: string,
  body: string,
  count: number,
): Promise<{ p50: number; p99: number }> {
  const { Agent, request: send } = await import('node:http');
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const { hostname, port } = new URL(origin);
  const once = () =>
    new Promise<number>((resolve, reject) => {
      const started = performance.now();
      const outgoing = send(
        {
          hostname,
          port,
          path,
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (response) => {
          response.resume();
          response.on('end', () =>
            response.statusCode === 200
              ? resolve(performance.now() - started)
              : reject(new Error(`${origin}${path}: ${response.statusCode}`)),
          );
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  for (let i = 0; i < 200; i++) await once();
  const samples: number[] = [];
  for (let i = 0; i < count; i++) samples.push(await once());
  agent.destroy();
  samples.sort((a, b) => a - b);
  return { p50: at(samples, Math.floor(count * 0.5)), p99: at(samples, Math.floor(count * 0.99)) };
}
