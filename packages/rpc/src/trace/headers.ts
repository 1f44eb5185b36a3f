import type { IncomingHttpHeaders } from 'node:http';

/**
 * Where a request stands in a distributed trace: its trace, the span it runs
 * under (the caller's, or Google's front end's), and whether the trace is
 * being recorded.
 */
export interface TraceContext {
  traceId: string;
  spanId?: string;
  sampled?: boolean;
  /**
   * OpenTelemetry's Context of the span, when OpenTelemetry records spans:
   * what `context.active()` answers a handler, kept opaque here so that this
   * package loads no OpenTelemetry module.
   */
  otelContext?: unknown;
}

/**
 * The caller's trace, from W3C `traceparent` or, failing that, Google's older
 * `X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=1`, which Cloud Run's front end
 * still sets. Malformed headers are ignored rather than trusted.
 */
export function traceFromHeaders(headers: IncomingHttpHeaders): TraceContext | undefined {
  const traceparent = first(headers.traceparent);
  const [, traceId, spanId, flags] =
    (traceparent && /^[\da-f]{2}-([\da-f]{32})-([\da-f]{16})-([\da-f]{2})$/.exec(traceparent.trim())) || [];
  if (traceId !== undefined && spanId !== undefined && flags !== undefined && !isZero(traceId) && !isZero(spanId)) {
    return { traceId, spanId, sampled: (Number.parseInt(flags, 16) & 1) === 1 };
  }
  const cloud = first(headers['x-cloud-trace-context']);
  const [, legacyTrace, legacySpan, legacySampled] =
    (cloud && /^([\da-f]{32})(?:\/(\d+))?(?:;o=([01]))?$/i.exec(cloud.trim())) || [];
  if (legacyTrace !== undefined && !isZero(legacyTrace)) {
    const trace: TraceContext = { traceId: legacyTrace.toLowerCase() };
    // Cloud Logging wants the span as 16 hex digits; this header carries it in decimal.
    if (legacySpan !== undefined) trace.spanId = BigInt(legacySpan).toString(16).padStart(16, '0').slice(-16);
    if (legacySampled !== undefined) trace.sampled = legacySampled === '1';
    return trace;
  }
  return undefined;
}

/**
 * The trace a request runs in: the caller's if it sent one, else a new one,
 * recorded (as OpenTelemetry's default sampler decides for a trace it starts).
 */
export function traceOfRequest(headers: IncomingHttpHeaders): TraceContext {
  return traceFromHeaders(headers) ?? { traceId: newTraceId(), spanId: newSpanId(), sampled: true };
}

/**
 * The `traceparent` for a call made within `trace`: the same trace, a new
 * span (the call's), and the caller's sampling decision.
 */
export function childTraceparent(trace: TraceContext): string {
  return traceparentOf(trace, newSpanId());
}

/**
 * The W3C `traceparent` that names a span, the call's own, as the parent of
 * the span of the server that answers it.
 */
export function traceparentOf(trace: TraceContext, spanId = trace.spanId): string {
  return `00-${trace.traceId}-${spanId}-${trace.sampled === true ? '01' : '00'}`;
}

/**
 * The special fields that make Cloud Logging group a request's lines under its
 * trace. The trace must name the project to be linked; without one (off Cloud
 * Run, with no GOOGLE_CLOUD_PROJECT) the bare trace id is still searchable.
 */
export function traceLogFields(trace: TraceContext, project: string | undefined): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    'logging.googleapis.com/trace': project ? `projects/${project}/traces/${trace.traceId}` : trace.traceId,
  };
  if (trace.spanId !== undefined) fields['logging.googleapis.com/spanId'] = trace.spanId;
  if (trace.sampled !== undefined) fields['logging.googleapis.com/trace_sampled'] = trace.sampled;
  return fields;
}

/**
 * `traceLogFields` as JSON members, each after a comma, for a log line built
 * as text: turning the object into JSON cost a loaded service about 4% of its
 * throughput on a line per request.
 */
export function traceLogText(trace: TraceContext, project: string | undefined): string {
  const name = project ? `projects/${project}/traces/${trace.traceId}` : trace.traceId;
  let text = `,"logging.googleapis.com/trace":${JSON.stringify(name)}`;
  if (trace.spanId !== undefined) text += `,"logging.googleapis.com/spanId":"${trace.spanId}"`;
  if (trace.sampled !== undefined) text += `,"logging.googleapis.com/trace_sampled":${trace.sampled}`;
  return text;
}

/**
 * A new trace: 32 lower-case hex digits, not all zero (W3C forbids all-zero
 * ids). Ids come from Math.random, as OpenTelemetry's own generator's do:
 * they must be unlikely to collide, not unguessable, and node:crypto would
 * load into every service at its first request.
 */
function newTraceId(): string {
  let a: number;
  let b: number;
  let c: number;
  let d: number;
  do {
    a = randomWord();
    b = randomWord();
    c = randomWord();
    d = randomWord();
  } while ((a | b | c | d) === 0);
  return wordHex(a) + wordHex(b) + wordHex(c) + wordHex(d);
}

/** A new span: 16 lower-case hex digits, not all zero. */
function newSpanId(): string {
  let a: number;
  let b: number;
  do {
    a = randomWord();
    b = randomWord();
  } while ((a | b) === 0);
  return wordHex(a) + wordHex(b);
}

/** Four bytes of an id from one random number, where taking one a byte cost each request that came with no trace 24 calls. */
function randomWord(): number {
  return (Math.random() * 0x1_0000_0000) >>> 0;
}

/** Byte by byte from a table: a number's own toString(16) costs about a quarter of a microsecond. */
function wordHex(word: number): string {
  return `${byteHex[word >>> 24]}${byteHex[(word >>> 16) & 0xff]}${byteHex[(word >>> 8) & 0xff]}${byteHex[word & 0xff]}`;
}

const byteHex: readonly string[] = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

function isZero(hex: string): boolean {
  return /^0+$/.test(hex);
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
