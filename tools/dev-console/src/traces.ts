import type { LogRecord, SpanRecord, TraceRecord } from './views.js';

/** How many log lines of one trace are kept: a chatty request should not crowd out the rest. */
const logsPerTrace = 200;
/** How many spans of one trace are kept, the first to arrive: a loop of calls must not stall the console. */
export const spansPerTrace = 1_000;

/**
 * The last `capacity` traces across every service, as spans and log lines
 * arrive for them, in any order: a service's lines usually come before its
 * spans, which wait for the SDK's next batch. Listeners hear of each trace
 * that changed, which the page's event stream sends on.
 */
export class TraceStore {
  readonly #capacity: number;
  /** In order of last change, oldest first (a Map keeps insertion order). */
  readonly #traces = new Map<string, TraceRecord>();
  /** Each trace's spans by id: a span sent again (its end, say) replaces the one kept, found without a scan. */
  readonly #spans = new Map<string, Map<string, SpanRecord>>();
  readonly #listeners = new Set<(trace: TraceRecord) => void>();

  constructor(capacity = 50) {
    this.#capacity = capacity;
  }

  /** How many traces are kept. */
  get capacity(): number {
    return this.#capacity;
  }

  addSpans(spans: readonly SpanRecord[]): void {
    const changed = new Set<TraceRecord>();
    for (const span of spans) {
      const trace = this.#touch(span.traceId);
      let byId = this.#spans.get(span.traceId);
      if (byId === undefined) {
        byId = new Map();
        this.#spans.set(span.traceId, byId);
      }
      if (byId.has(span.spanId) || byId.size < spansPerTrace) byId.set(span.spanId, span);
      else trace.droppedSpans = (trace.droppedSpans ?? 0) + 1;
      changed.add(trace);
    }
    for (const trace of changed) {
      trace.spans = [...(this.#spans.get(trace.traceId)?.values() ?? [])].sort((a, b) => a.start - b.start);
      this.#tell(trace);
    }
  }

  addLog(record: LogRecord): void {
    if (record.traceId === undefined) return;
    const trace = this.#touch(record.traceId);
    trace.logs.push(record);
    if (trace.logs.length > logsPerTrace) trace.logs.shift();
    this.#tell(trace);
  }

  /** Newest first. */
  list(): TraceRecord[] {
    return [...this.#traces.values()].reverse();
  }

  get(traceId: string): TraceRecord | undefined {
    return this.#traces.get(traceId);
  }

  /** Calls `listener` with each trace that changes, until the returned function is called. */
  subscribe(listener: (trace: TraceRecord) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #touch(traceId: string): TraceRecord {
    const trace = this.#traces.get(traceId) ?? { traceId, spans: [], logs: [], updated: 0 };
    // Moved to the end: most recently changed.
    this.#traces.delete(traceId);
    this.#traces.set(traceId, trace);
    trace.updated = Date.now();
    while (this.#traces.size > this.#capacity) {
      const oldest = this.#traces.keys().next().value;
      if (oldest === undefined) break;
      this.#traces.delete(oldest);
      this.#spans.delete(oldest);
    }
    return trace;
  }

  #tell(trace: TraceRecord): void {
    for (const listener of this.#listeners) listener(trace);
  }
}

/**
 * A line a service printed, read as Cloud Logging JSON: its trace (the bare
 * id, without `projects/…/traces/`), span, severity and message. A line that
 * is not JSON is kept as its own message, with no trace.
 */
export function readLogLine(service: string, line: string, now = Date.now()): LogRecord {
  let record: Record<string, unknown> | undefined;
  if (line.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(line);
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
        record = parsed as Record<string, unknown>;
      }
    } catch {
      record = undefined;
    }
  }
  if (record === undefined) return { service, time: now, severity: 'DEFAULT', message: line, line };
  const time = typeof record.time === 'string' ? Date.parse(record.time) : Number.NaN;
  const log: LogRecord = {
    service,
    time: Number.isNaN(time) ? now : time,
    severity: typeof record.severity === 'string' ? record.severity : 'DEFAULT',
    message: typeof record.message === 'string' ? record.message : '',
    line,
  };
  const trace = record['logging.googleapis.com/trace'];
  if (typeof trace === 'string') log.traceId = trace.slice(trace.lastIndexOf('/') + 1);
  const span = record['logging.googleapis.com/spanId'];
  if (typeof span === 'string') log.spanId = span;
  return log;
}
