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
  const w3c = traceparent && /^[\da-f]{2}-([\da-f]{32})-([\da-f]{16})-([\da-f]{2})$/.exec(traceparent.trim());
  if (w3c && !/^0+$/.test(w3c[1]!)) {
    return { traceId: w3c[1]!, spanId: w3c[2]!, sampled: (Number.parseInt(w3c[3]!, 16) & 1) === 1 };
  }
  const cloud = first(headers['x-cloud-trace-context']);
  const legacy = cloud && /^([\da-f]{32})(?:\/(\d+))?(?:;o=([01]))?$/i.exec(cloud.trim());
  if (legacy) {
    const trace: TraceContext = { traceId: legacy[1]!.toLowerCase() };
    // Cloud Logging wants the span as 16 hex digits; this header carries it in decimal.
    if (legacy[2] !== undefined) trace.spanId = BigInt(legacy[2]).toString(16).padStart(16, '0').slice(-16);
    if (legacy[3] !== undefined) trace.sampled = legacy[3] === '1';
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
