import { gunzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import type { AttributeValue, SpanKindName, SpanRecord } from './views.js';

const kinds: readonly SpanKindName[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const statuses = ['unset', 'ok', 'error'] as const;

/** A body that is not an OTLP/JSON trace export. */
export class OtlpError extends Error {}

/**
 * The spans of an OTLP/JSON `ExportTraceServiceRequest`, as OpenTelemetry's
 * OTLP/HTTP exporters send it (OTEL_EXPORTER_OTLP_PROTOCOL=http/json): ids
 * in hex, 64-bit times as decimal strings, attribute values as `AnyValue`.
 */
export function spansFromOtlp(body: unknown): SpanRecord[] {
  const resourceSpans = field(body, 'resourceSpans');
  if (!Array.isArray(resourceSpans)) throw new OtlpError('the body has no resourceSpans list');
  const spans: SpanRecord[] = [];
  for (const resourceSpan of resourceSpans) {
    const resource = attributes(field(field(resourceSpan, 'resource'), 'attributes'));
    const service = typeof resource['service.name'] === 'string' ? resource['service.name'] : 'unknown_service';
    for (const scopeSpan of list(field(resourceSpan, 'scopeSpans'))) {
      for (const span of list(field(scopeSpan, 'spans'))) spans.push(readSpan(span, service));
    }
  }
  return spans;
}

function readSpan(span: unknown, service: string): SpanRecord {
  const traceId = hexId(field(span, 'traceId'), 32, 'traceId');
  const spanId = hexId(field(span, 'spanId'), 16, 'spanId');
  const parent = field(span, 'parentSpanId');
  const status = field(span, 'status');
  const statusCode = Number(field(status, 'code') ?? 0);
  const message = field(status, 'message');
  const record: SpanRecord = {
    traceId,
    spanId,
    name: String(field(span, 'name') ?? ''),
    kind: kinds[Number(field(span, 'kind') ?? 0)] ?? 'unspecified',
    service,
    start: nanosToMillis(field(span, 'startTimeUnixNano')),
    end: nanosToMillis(field(span, 'endTimeUnixNano')),
    status: statuses[statusCode] ?? 'unset',
    attributes: attributes(field(span, 'attributes')),
  };
  if (typeof parent === 'string' && parent !== '') record.parentSpanId = hexId(parent, 16, 'parentSpanId');
  if (typeof message === 'string' && message !== '') record.statusMessage = message;
  return record;
}

/** OTLP/JSON's key-value list as a plain object. */
function attributes(list: unknown): Record<string, AttributeValue> {
  const result: Record<string, AttributeValue> = {};
  if (!Array.isArray(list)) return result;
  for (const entry of list) {
    const key = field(entry, 'key');
    if (typeof key === 'string') result[key] = anyValue(field(entry, 'value'));
  }
  return result;
}

function anyValue(value: unknown): AttributeValue {
  if (value === null || typeof value !== 'object') return null;
  const v = value as Record<string, unknown>;
  if (typeof v.stringValue === 'string') return v.stringValue;
  if (typeof v.boolValue === 'boolean') return v.boolValue;
  // 64-bit integers arrive as strings in JSON; the console's numbers are small enough to be exact.
  if (v.intValue !== undefined) return Number(v.intValue);
  if (typeof v.doubleValue === 'number') return v.doubleValue;
  if (v.arrayValue !== undefined) return list(field(v.arrayValue, 'values')).map(anyValue);
  return null;
}

function hexId(value: unknown, digits: number, name: string): string {
  if (typeof value === 'string' && value.length === digits && /^[\da-f]+$/i.test(value)) return value.toLowerCase();
  throw new OtlpError(`a span's ${name} is not ${digits} hex digits: ${JSON.stringify(value)}`);
}

function nanosToMillis(value: unknown): number {
  if (typeof value === 'number') return value / 1e6;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(BigInt(value) / 1000n) / 1000;
  throw new OtlpError(`a span time is not a count of nanoseconds: ${JSON.stringify(value)}`);
}

function field(value: unknown, key: string): unknown {
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** The largest export taken, as sent or once inflated. */
const otlpBodyLimit = 16 * 1024 * 1024;

/**
 * OTLP/HTTP's trace endpoint, `POST /v1/traces`, for JSON exports (gzipped or
 * not). A protobuf export is refused with 415 and what to set instead, as
 * OTLP/HTTP prescribes for an encoding the receiver does not take.
 */
export async function otlpReceiver(app: FastifyInstance, onSpans: (spans: SpanRecord[]) => void): Promise<void> {
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: otlpBodyLimit }, (_request, body, done) =>
      done(null, body),
    );
    scope.post('/v1/traces', async (request, reply) => {
      const type = String(request.headers['content-type'] ?? '');
      if (!type.startsWith('application/json')) {
        return reply.code(415).send({
          code: 3,
          message: `this receiver takes OTLP/JSON, not ${type || 'a body without a Content-Type'}; set OTEL_EXPORTER_OTLP_PROTOCOL=http/json`,
        });
      }
      const gzipped = request.headers['content-encoding'] === 'gzip';
      let spans: SpanRecord[];
      try {
        const raw = request.body as Buffer;
        // Inflated, the same limit as a plain body: a small gzip bomb must not take the runner's memory.
        const text = gzipped ? gunzipSync(raw, { maxOutputLength: otlpBodyLimit }) : raw;
        spans = spansFromOtlp(JSON.parse(text.toString('utf8')));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
          return reply
            .code(413)
            .send({ code: 3, message: `the export inflates to more than ${otlpBodyLimit / 1024 / 1024} MiB` });
        }
        const reason =
          error instanceof OtlpError ? error.message : `the body is not ${gzipped ? 'gzipped JSON' : 'JSON'}`;
        return reply.code(400).send({ code: 3, message: `not an OTLP/JSON trace export: ${reason}` });
      }
      onSpans(spans);
      // An ExportTraceServiceResponse with nothing rejected.
      return {};
    });
  });
}
