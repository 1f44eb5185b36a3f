import type { IncomingHttpHeaders } from 'node:http';

export interface TraceContext {
  traceId: string;
  spanId?: string;
  sampled?: boolean;
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
  if (traceId !== undefined && spanId !== undefined && flags !== undefined && !/^0+$/.test(traceId)) {
    return { traceId, spanId, sampled: (Number.parseInt(flags, 16) & 1) === 1 };
  }
  const cloud = first(headers['x-cloud-trace-context']);
  const [, legacyTrace, legacySpan, legacySampled] =
    (cloud && /^([\da-f]{32})(?:\/(\d+))?(?:;o=([01]))?$/i.exec(cloud.trim())) || [];
  if (legacyTrace !== undefined) {
    const trace: TraceContext = { traceId: legacyTrace.toLowerCase() };
    // Cloud Logging wants the span as 16 hex digits; this header carries it in decimal.
    if (legacySpan !== undefined) trace.spanId = BigInt(legacySpan).toString(16).padStart(16, '0').slice(-16);
    if (legacySampled !== undefined) trace.sampled = legacySampled === '1';
    return trace;
  }
  return undefined;
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

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
