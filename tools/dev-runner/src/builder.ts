import { Worker } from 'node:worker_threads';
import type { BuildJob, BuildOutcome } from './build-worker.js';

export interface BuildResult {
  ok: boolean;
  /** How long the build took, in milliseconds. */
  ms: number;
  /** Absolute paths of every file the bundle was made from (from the last build that got that far). */
  inputs: string[];
  /** The errors at file:line, when it failed. */
  errors: string[];
}

/**
 * Builds services' bundles with tsup, each service in a worker thread of its
 * own: they build in parallel, and a rebuild reuses a warm tsup and esbuild.
 */
export class Builder {
  private readonly workers = new Map<string, Worker>();
  private readonly waiting = new Map<number, { key: string; resolve: (outcome: BuildOutcome) => void }>();
  private nextId = 0;

  constructor(private readonly workerFile: URL) {}

  /** Builds the bundle of the service in `service` (its folder). */
  async build(service: string): Promise<BuildResult> {
    const started = performance.now();
    const id = this.nextId++;
    const key = service;
    const worker = this.worker(key);
    // A build in flight keeps the dev runner alive; an idle worker does not keep it from exiting.
    worker.ref();
    const outcome = await new Promise<BuildOutcome>((resolve) => {
      this.waiting.set(id, { key, resolve });
      worker.postMessage({ id, service } satisfies BuildJob);
    });
    if (![...this.waiting.values()].some((waiting) => waiting.key === key)) worker.unref();
    const ms = Math.round(performance.now() - started);
    return outcome.ok
      ? { ok: true, ms, inputs: outcome.inputs, errors: [] }
      : { ok: false, ms, inputs: outcome.inputs, errors: outcome.errors };
  }

  async close(): Promise<void> {
    await Promise.all([...this.workers.values()].map((worker) => worker.terminate()));
    this.workers.clear();
  }

  private worker(key: string): Worker {
    let worker = this.workers.get(key);
    if (worker !== undefined) return worker;
    worker = new Worker(this.workerFile);
    worker.on('message', (message: BuildOutcome | { type: string }) => {
      // tsup's own log lines arrive here too, as {type, text}: dropped, since each build is reported once.
      if (!('id' in message)) return;
      this.waiting.get(message.id)?.resolve(message);
      this.waiting.delete(message.id);
    });
    worker.on('error', (error) => {
      for (const [id, waiting] of this.waiting) {
        if (waiting.key !== key) continue;
        waiting.resolve({ id, ok: false, errors: [`the build crashed: ${error.message}`], inputs: [] });
        this.waiting.delete(id);
      }
      this.workers.delete(key);
    });
    this.workers.set(key, worker);
    return worker;
  }
}
