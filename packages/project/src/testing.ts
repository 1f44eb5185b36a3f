import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** How a command ended: its exit code and all it printed. */
export interface Finished {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a Node script to its end, as a user runs one of the tools: the tests
 * of every CLI check the exit code and both streams. A run past `timeout`
 * is killed, and ends with code -1.
 */
export function runNode(
  script: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {},
): Promise<Finished> {
  return new Promise((resolve) => {
    execFile(process.execPath, [script, ...args], { timeout: 20_000, ...options }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

export { freePort } from './ports.js';

/**
 * The framework tests' own project (fixtures/taco): a copy of the taco example, with its own
 * definitions, generated code and service bundles, so that a test of a tool never depends on
 * which services and definitions the project's services/ and packages/definitions hold today.
 */
export const fixtureProject = fileURLToPath(new URL('../../../fixtures/taco/', import.meta.url));

/** A service's bundle in the fixture project, as the tests' global set-up builds it. */
export const fixtureBundle = (service: string): string => join(fixtureProject, 'services', service, 'dist/main.js');

/**
 * A file to preload (`node -r`) into a process under test: on exit it writes
 * `<script> loaded: [...]` to stderr, naming the heavy builtins (https, http2,
 * tls, crypto, Node's own undici) that the process loaded.
 */
export const loadedModulesPreload = fileURLToPath(new URL('./loaded-modules.cjs', import.meta.url));

/**
 * The first of `names` found on PATH, as a full path: a program a test needs
 * and skips without (saying so), such as python3. Undefined where there is none.
 */
export function findOnPath(...names: string[]): string | undefined {
  const folders = (process.env.PATH ?? '').split(delimiter);
  for (const name of names) {
    for (const folder of folders) if (existsSync(join(folder, name))) return join(folder, name);
  }
  return undefined;
}

/**
 * The browser the browser tests drive through playwright-core: CHROMIUM,
 * else the first of chromium's usual names on PATH (.ci/run installs
 * Debian's). Undefined where there is none, and the test says it skipped.
 */
export function findChromium(): string | undefined {
  return process.env.CHROMIUM || findOnPath('chromium', 'chromium-browser', 'google-chrome');
}

/**
 * An IPv4 address of this machine that is not loopback: where "from another machine" is
 * tried from here. Undefined on a machine with loopback only, and the test says it skipped.
 */
export function nonLoopbackAddress(): string | undefined {
  const addresses = Object.values(networkInterfaces()).flatMap((list) => list ?? []);
  return addresses.find((entry) => entry.family === 'IPv4' && !entry.internal)?.address;
}

/** Whether a TCP connection to `host:port` is taken: 'connected', or the error's code (ECONNREFUSED). */
export function connects(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 2_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('ETIMEDOUT');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}
