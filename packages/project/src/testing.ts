import { execFile } from 'node:child_process';
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
 * A file to preload (`node -r`) into a process under test: on exit it writes
 * `<script> loaded: [...]` to stderr, naming the heavy builtins (https, http2,
 * tls, crypto, Node's own undici) that the process loaded.
 */
export const loadedModulesPreload = fileURLToPath(new URL('./loaded-modules.cjs', import.meta.url));
