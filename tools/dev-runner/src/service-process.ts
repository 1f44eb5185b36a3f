import type { ChildProcess } from 'node:child_process';
import { request } from 'undici';
import { hasExited, spawnGroup, terminate } from './processes.js';

export interface ServiceProcessOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  command: string;
  args: readonly string[];
  port: number;
  onLine: (line: string) => void;
  /** The process ended without being asked to: a crash, or an exit of its own. */
  onUnexpectedExit: (code: number | null, signal: NodeJS.Signals | null) => void;
}

/** One service's process, which the dev runner starts, restarts and stops, and which may also crash. */
export class ServiceProcess {
  private child: ChildProcess | undefined;

  constructor(private readonly options: ServiceProcessOptions) {}

  get running(): boolean {
    return this.child !== undefined && !hasExited(this.child);
  }

  /** Stops the running process (letting it drain) and starts a new one. */
  async restart(): Promise<void> {
    await this.stop();
    const { command, args, cwd, env, onLine, onUnexpectedExit } = this.options;
    const child = spawnGroup(command, args, { cwd, env }, onLine);
    child.on('exit', (code, signal) => {
      if (this.child === child) onUnexpectedExit(code, signal);
    });
    this.child = child;
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child !== undefined) await terminate(child);
  }

  /** Resolves true once the service answers /healthz, false if it exits or takes longer than `patienceMs`. */
  async ready(patienceMs = 15_000): Promise<boolean> {
    const child = this.child;
    const giveUp = Date.now() + patienceMs;
    while (child !== undefined && this.child === child && !hasExited(child) && Date.now() < giveUp) {
      try {
        const { statusCode, body } = await request(`http://127.0.0.1:${this.options.port}/healthz`, {
          headersTimeout: 1_000,
        });
        await body.dump();
        if (statusCode === 200) return true;
      } catch {
        // Not listening yet.
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return false;
  }
}
