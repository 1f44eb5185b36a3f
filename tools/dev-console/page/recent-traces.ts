import type { TraceRecord } from '../src/views.js';

/**
 * The traces the page holds: the same last N as the console's server, each moved to the end as it
 * changes, the oldest dropped. A busy service sends hundreds a second; keeping them all made every
 * redraw slower than the last.
 */
export class RecentTraces {
  readonly #traces = new Map<string, TraceRecord>();

  constructor(readonly capacity: number) {}

  add(trace: TraceRecord): void {
    this.#traces.delete(trace.traceId);
    this.#traces.set(trace.traceId, trace);
    for (const oldest of this.#traces.keys()) {
      if (this.#traces.size <= this.capacity) break;
      this.#traces.delete(oldest);
    }
  }

  /** Newest first. */
  list(): TraceRecord[] {
    return [...this.#traces.values()].reverse();
  }
}
