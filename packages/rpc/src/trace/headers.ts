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
  const parent = traceparent === undefined ? undefined : parseTraceparent(traceparent);
  if (parent !== undefined) return parent;
  const cloud = first(headers['x-cloud-trace-context']);
  const [, legacyTrace, legacySpan, legacySampled] =
    (cloud && /^([\da-f]{32})(?:\/(\d+))?(?:;o=([01]))?$/i.exec(cloud.trim())) || [];
  if (legacyTrace !== undefined && !allZero(legacyTrace, 0, legacyTrace.length)) {
    const trace: TraceContext = { traceId: legacyTrace.toLowerCase() };
    // Cloud Logging wants the span as 16 hex digits; this header carries it in decimal.
    if (legacySpan !== undefined) trace.spanId = BigInt(legacySpan).toString(16).padStart(16, '0').slice(-16);
    if (legacySampled !== undefined) trace.sampled = legacySampled === '1';
    return trace;
  }
  return undefined;
}

/**
 * `version-traceId-spanId-flags`: 2, 32, 16 and 2 lower-case hex digits, the ids not all zero. Read a character
 * at a time: Cloud Run's front end sends one with every request, and the regular expression this replaced cost
 * each about 4k instructions, as much as the rest of the trace's work (`pnpm bench --only counted`).
 */
function parseTraceparent(text: string): TraceContext | undefined {
  const value = text.length === 55 ? text : text.trim();
  if (value.length !== 55) return undefined;
  for (let at = 0; at < 55; at++) {
    const code = value.charCodeAt(at);
    const valid = at === 2 || at === 35 || at === 52 ? code === dash : isLowerHex(code);
    if (!valid) return undefined;
  }
  if (allZero(value, 3, 35) || allZero(value, 36, 52)) return undefined;
  return {
    traceId: value.slice(3, 35),
    spanId: value.slice(36, 52),
    sampled: (hexValue(value.charCodeAt(54)) & 1) === 1,
  };
}

const dash = 0x2d;

function isLowerHex(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x61 && code <= 0x66);
}

function hexValue(code: number): number {
  return code <= 0x39 ? code - 0x30 : code - 0x61 + 10;
}

function allZero(text: string, start: number, end: number): boolean {
  for (let at = start; at < end; at++) if (text.charCodeAt(at) !== 0x30) return false;
  return true;
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
 * `traceLogFields` as JSON members, each after a comma, for log lines built as
 * text, made by a function that knows the project: its name is escaped once,
 * and the ids need none, being hex wherever a TraceContext comes from (the
 * headers' parsers check them, and this module and OpenTelemetry make them).
 * Turning the fields into JSON on every line cost a loaded service about 4%
 * of its throughput on a line per request.
 */
export function traceLogText(project: string | undefined): (trace: TraceContext) => string {
  const named = JSON.stringify(project ? `projects/${project}/traces/` : '');
  const traceField = `,"logging.googleapis.com/trace":${named.slice(0, -1)}`;
  return (trace) => {
    let text = `${traceField}${trace.traceId}"`;
    if (trace.spanId !== undefined) text += `,"logging.googleapis.com/spanId":"${trace.spanId}"`;
    if (trace.sampled !== undefined) text += `,"logging.googleapis.com/trace_sampled":${trace.sampled}`;
    return text;
  };
}

/**
 * A new trace: 32 lower-case hex digits, not all zero (W3C forbids all-zero
 * ids). Ids come from Math.random, as OpenTelemetry's own generator's do:
 * they must be unlikely to collide, not unguessable, and node:crypto would
 * load into every service at its first request.
 *
 * Four bytes come from each random number, and the digits go into one flat
 * string in one call, written out. Counted under callgrind as `pnpm bench
 * --only counted` counts, a request to tacoserver with its access line on
 * did 1.7k instructions fewer this way than with ids joined from byte pairs,
 * 1.2k fewer than with ids cut from a pool of random digits (cheaper to make,
 * dearer for the line to copy), and 1.2k fewer than with a loop of the
 * digits into an array for `apply`.
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
  // biome-ignore format: a word's eight digits to a line
  return String.fromCharCode(
    hex(a, 28), hex(a, 24), hex(a, 20), hex(a, 16), hex(a, 12), hex(a, 8), hex(a, 4), hex(a, 0),
    hex(b, 28), hex(b, 24), hex(b, 20), hex(b, 16), hex(b, 12), hex(b, 8), hex(b, 4), hex(b, 0),
    hex(c, 28), hex(c, 24), hex(c, 20), hex(c, 16), hex(c, 12), hex(c, 8), hex(c, 4), hex(c, 0),
    hex(d, 28), hex(d, 24), hex(d, 20), hex(d, 16), hex(d, 12), hex(d, 8), hex(d, 4), hex(d, 0),
  );
}

/** A new span: 16 lower-case hex digits, not all zero, made as a trace's are. */
function newSpanId(): string {
  let a: number;
  let b: number;
  do {
    a = randomWord();
    b = randomWord();
  } while ((a | b) === 0);
  // biome-ignore format: a word's eight digits to a line
  return String.fromCharCode(
    hex(a, 28), hex(a, 24), hex(a, 20), hex(a, 16), hex(a, 12), hex(a, 8), hex(a, 4), hex(a, 0),
    hex(b, 28), hex(b, 24), hex(b, 20), hex(b, 16), hex(b, 12), hex(b, 8), hex(b, 4), hex(b, 0),
  );
}

function randomWord(): number {
  return (Math.random() * 0x1_0000_0000) >>> 0;
}

/** The character code of the hex digit at `shift` in `word`. */
function hex(word: number, shift: number): number {
  return hexDigits[(word >>> shift) & 0xf] as number;
}

const hexDigits = Uint8Array.from('0123456789abcdef', (digit) => digit.charCodeAt(0));

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
