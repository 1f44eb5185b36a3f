import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';

/** A service bundle started as a real process, as the tests and the local Cloud Run emulator run it. */
export interface ServiceProcess {
  child: ChildProcess;
  /** The process's id: it is running, so it has one. */
  pid: number;
  /** `http://127.0.0.1:<port>`, read from the service's own "listening at" line. */
  origin: string;
  port: number;
  /** stdout so far, one entry per line (none when it is drained: see startService's `stdout`). */
  lines: string[];
  stderr: string[];
  /** The process draining a drained stdout, which ends with the service. */
  drainPid?: number | undefined;
  /** Resolves with the exit code, or 128+signal. */
  exited: Promise<number>;
  /** Waits until a stdout line matches, up to the timeout. */
  waitForLine(match: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** SIGTERM, then SIGKILL if it is still there after the grace period; resolves with the exit code. */
  stop(graceMs?: number): Promise<number>;
}

const signalNumbers: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/**
 * Starts `node <bundle>` (optionally under a wrapper) with PORT=0 (unless env says otherwise) and resolves
 * once the service says where it listens. A process that exits first rejects
 * with its stderr, so a start-up failure reads as one.
 */
export async function startService(
  bundle: string,
  env: Record<string, string> = {},
  {
    wrapper = [],
    node = process.execPath,
    runner = [node],
    ...options
  }: ProcessOptions & {
    /** The Node binary the service (and its wrapper) runs on. Default: this process's. */
    node?: string;
    wrapper?: string[];
    /**
     * What runs the bundle, in place of plain `node`: Node under a tool, with flags of its own, such as
     * `[valgrind, --tool=callgrind, node, --single-threaded]`. Default `[node]`.
     */
    runner?: string[];
  } = {},
): Promise<ServiceProcess> {
  // A wrapper such as [runsd.js, '--'] runs the service the way the container does: `runsd -- node main.js`.
  const command = [...(wrapper.length === 0 ? [] : [node, ...wrapper]), ...runner, bundle];
  return startProcess(command, { PATH: process.env.PATH ?? '', PORT: String(options.port ?? 0), ...env }, options);
}

export interface ProcessOptions {
  startTimeoutMs?: number;
  /** A fixed port: readiness is then the port accepting connections, for a service told to log nothing. */
  port?: number;
  /** Sees every output line as it comes, e.g. to print it with a prefix. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /**
   * `drain`: stdout goes down a pipe to a process of its own that reads and
   * discards it, as Cloud Run's log collector drains a container's, so that
   * a benchmark's load generator does not also pay for the service's log
   * lines. Needs `port`, since the listening line is not read either.
   */
  stdout?: 'capture' | 'drain';
}

/**
 * Starts a command that serves HTTP, with exactly the environment given, and
 * resolves once it listens: at the fixed `port` when there is one, else where
 * its "listening at" line says. startService runs a bundle with it; the image
 * tests, a container (`podman start --attach`).
 */
export async function startProcess(
  command: readonly string[],
  env: Record<string, string>,
  { startTimeoutMs = 10_000, onLine, port, stdout = 'capture' }: ProcessOptions = {},
): Promise<ServiceProcess> {
  if (stdout === 'drain' && port === undefined) throw new Error('a drained stdout needs a fixed port');
  const drain = stdout === 'drain' ? spawn('cat', [], { stdio: ['pipe', 'ignore', 'inherit'] }) : undefined;
  const [program, ...args] = command;
  if (program === undefined) throw new Error('startProcess: an empty command');
  const child = spawn(program, args, {
    env,
    stdio: ['ignore', drain?.stdin ?? 'pipe', 'pipe'],
  });
  // The service holds the pipe's write end now; the drain ends when the service does.
  drain?.stdin?.destroy();
  const lines: string[] = [];
  const stderr: string[] = [];
  const waiters = new Set<() => void>();
  if (child.stdout !== null) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      onLine?.(line, 'stdout');
      for (const wake of waiters) wake();
    });
  }
  if (child.stderr !== null) {
    createInterface({ input: child.stderr }).on('line', (line) => {
      stderr.push(line);
      onLine?.(line, 'stderr');
    });
  }
  const exited = once(child, 'exit').then(async ([code, signal]) => {
    // The drain reads to the end of the pipe and exits; stopped by its PID should anything keep it open.
    if (drain !== undefined && drain.exitCode === null) {
      const gone = once(drain, 'exit');
      const timer = setTimeout(() => drain.kill('SIGKILL'), 1_000);
      await gone;
      clearTimeout(timer);
    }
    return (code ?? 128 + (signalNumbers[signal as string] ?? 0)) as number;
  });

  /**
   * Why the process is gone, with all it said on stderr: 'exit' can come before its pipes are read to the end,
   * so this waits for them to close, a second at most (a child of a wrapper may hold them open).
   */
  const exitError = async (what: string) => {
    if (child.stderr !== null && !child.stderr.closed) {
      const timer = setTimeout(() => child.stderr?.destroy(), 1_000);
      await once(child.stderr, 'close').catch(() => {});
      clearTimeout(timer);
    }
    return new Error(`${what}; stderr:\n${stderr.join('\n')}`);
  };

  const waitForLine = (match: (line: string) => boolean, timeoutMs = 10_000) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const found = lines.find(match);
        if (found !== undefined) finish(() => resolve(found));
      };
      const timer = setTimeout(
        () =>
          finish(() =>
            reject(
              new Error(
                `no matching line within ${timeoutMs} ms; stdout:\n${lines.join('\n')}\nstderr:\n${stderr.join('\n')}`,
              ),
            ),
          ),
        timeoutMs,
      );
      const gone = () => void exitError('process exited').then((error) => finish(() => reject(error)));
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        child.off('exit', gone);
        settle();
      };
      waiters.add(check);
      child.once('exit', gone);
      check();
    });

  const stop = async (graceMs = 10_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return exited;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };

  try {
    const bound =
      port === undefined
        ? portFrom(await waitForLine((text) => /listening at http:\/\/127\.0\.0\.1:\d+/.test(text), startTimeoutMs))
        : await accepting(port, child, startTimeoutMs, exitError);
    const { pid } = child;
    if (pid === undefined) throw new Error(`${command.join(' ')} has no process id`);
    const origin = `http://127.0.0.1:${bound}`;
    return { child, pid, origin, port: bound, lines, stderr, drainPid: drain?.pid, exited, waitForLine, stop };
  } catch (error) {
    child.kill('SIGKILL');
    drain?.kill('SIGKILL');
    throw error;
  }
}

function portFrom(line: string): number {
  const [, port] = /127\.0\.0\.1:(\d+)/.exec(line) ?? [];
  if (port === undefined) throw new Error(`no 127.0.0.1 port in "${line}"`);
  return Number(port);
}

/** Polls until the port takes a connection, failing if the process exits or the time runs out. */
async function accepting(
  port: number,
  child: ChildProcess,
  timeoutMs: number,
  exitError: (what: string) => Promise<Error>,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null)
      throw await exitError(`process exited with ${child.exitCode} before listening on ${port}`);
    const open = await new Promise<boolean>((resolve) => {
      // Loopback answers at once: a closed port refuses, an open one accepts.
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.end();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return port;
    if (Date.now() > deadline) throw new Error(`nothing listening on ${port} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * A request body that arrives in two parts: its first bytes at once, the
 * rest when the gate opens. The server has the request in flight meanwhile,
 * which is how the shutdown tests hold requests open across a SIGTERM.
 */
export function heldBody(body: string, gate: Promise<void>, firstBytes = 10): Readable {
  return Readable.from(
    (async function* () {
      yield body.slice(0, firstBytes);
      await gate;
      yield body.slice(firstBytes);
    })(),
  );
}

/** A port nothing listens on right now, for a service that must be told its port in advance. */
export { freePort } from './ports.js';

/** The JSON log lines a service printed, parsed. */
export function jsonLines(lines: readonly string[]): Record<string, unknown>[] {
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}
