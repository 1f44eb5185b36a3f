import type { TraceContext } from './headers.js';

/** Span attributes, named as OpenTelemetry's semantic conventions name them. */
export type SpanAttributes = Record<string, string | number | boolean>;

/** How the work a span stands for ended. */
export interface SpanOutcome {
  /** The HTTP status answered (server) or received (client); absent when no answer came. */
  status?: number;
  /** The protocol's code when the call failed: `invalid_argument`, `unavailable`… */
  code?: string;
  /** For a client span: how many times the call was sent again. */
  retries?: number;
}

/** A span being recorded. */
export interface RecordingSpan {
  /** The span's own place in the trace: the trace its work runs in, and a call made for it names as parent. */
  readonly trace: TraceContext;
  end(outcome: SpanOutcome): void;
}

/**
 * What records spans. None is installed unless a service turns telemetry on
 * (OTEL_EXPORTER_OTLP_ENDPOINT), and then the service kit installs one backed
 * by OpenTelemetry's SDK: this package, which every service bundles, names
 * no OpenTelemetry module, so a service without telemetry loads none, and
 * its requests and calls take the span-free path.
 */
export interface SpanRecorder {
  /**
   * The span of a request a service answers, a child of the caller's span when it sent one. Its
   * attributes are asked for only if the span is recorded: most are not, where traces are sampled.
   */
  startServer(name: string, caller: TraceContext | undefined, attributes: () => SpanAttributes): RecordingSpan;
  /** The span of a call, a child of the span of the request it is made for, if any; attributes as above. */
  startClient(name: string, parent: TraceContext | undefined, attributes: () => SpanAttributes): RecordingSpan;
}

let installed: SpanRecorder | undefined;

/** Installs the recorder that every later request and call reports its span to; `undefined` removes it. */
export function recordSpansWith(recorder: SpanRecorder | undefined): void {
  installed = recorder;
}

/** The recorder in use, if telemetry is on. */
export function spanRecorder(): SpanRecorder | undefined {
  return installed;
}
