import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

/** The dev runner, started as `pnpm dev` or `pnpm start` runs it, with every line it prints kept for the test. */
export interface StartedRunner {
  process: ChildProcess;
  output: string[];
  /** The first line so far, or within `ms`, that matches (after `after` lines, when given). */
  waitFor(match: RegExp, options?: { after?: number; ms?: number }): Promise<RegExpExecArray>;
  /** Ctrl-C, and how it exited. */
  interrupt(): Promise<[number | null, NodeJS.Signals | null]>;
  /** Whatever happens in the test, nothing the runner started outlives it. */
  kill(): Promise<void>;
}

export function startRunner(
  cli: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): StartedRunner {
  // A process group of its own, so that kill() reaches everything it started.
  const child = spawn(process.execPath, [cli, ...args], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const output: string[] = [];
  const wake = new Set<() => void>();
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      output.push(line);
      for (const waiter of wake) waiter();
    });
  }
  return {
    process: child,
    output,
    waitFor: (match, { after = 0, ms = 15_000 } = {}) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = output
            .slice(after)
            .map((line) => match.exec(line))
            .find((result) => result !== null);
          if (found === undefined) return;
          wake.delete(check);
          clearTimeout(timer);
          resolve(found);
        };
        const timer = setTimeout(() => {
          wake.delete(check);
          reject(new Error(`the dev runner printed no ${match} in ${ms} ms:\n${output.join('\n')}`));
        }, ms);
        wake.add(check);
        check();
      }),
    interrupt: async () => {
      const closed = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
      child.kill('SIGINT');
      return closed;
    },
    kill: async () => {
      // The runner first, so that it stops the services it started (each in a process group of its
      // own, which a kill of the runner's group would not reach); then whatever is left of its group.
      if (child.exitCode === null && child.signalCode === null) {
        const closed = once(child, 'close');
        child.kill('SIGTERM');
        await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 12_000))]);
      }
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // The group is gone already: the runner stopped everything it started.
      }
    },
  };
}
