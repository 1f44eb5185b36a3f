import { gzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { otlpReceiver, spansFromOtlp } from '../src/otlp.js';
import type { SpanRecord } from '../src/views.js';

/** An export as OpenTelemetry JS's OTLP/HTTP JSON exporter writes it. */
const exported = {
  resourceSpans: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'tacoserver' } }] },
      scopeSpans: [
        {
          scope: { name: '@taco-run/service', version: '0.1.0' },
          spans: [
            {
              traceId: '0123456789ABCDEF0123456789ABCDEF',
              spanId: '70e4ebfd9ca7b161',
              parentSpanId: '0123456789abcdef',
              name: 'TacoService.EatTaco',
              kind: 2,
              startTimeUnixNano: '1795691713977000000',
              endTimeUnixNano: '1795691713982637145',
              attributes: [
                { key: 'rpc.method', value: { stringValue: 'TacoService.EatTaco' } },
                { key: 'http.response.status_code', value: { intValue: 200 } },
                { key: 'ok', value: { boolValue: true } },
                { key: 'tacos', value: { arrayValue: { values: [{ stringValue: 'Fish' }] } } },
              ],
              status: { code: 2, message: 'internal' },
            },
          ],
        },
      ],
    },
  ],
};

const span: SpanRecord = {
  traceId: '0123456789abcdef0123456789abcdef',
  spanId: '70e4ebfd9ca7b161',
  parentSpanId: '0123456789abcdef',
  name: 'TacoService.EatTaco',
  kind: 'server',
  service: 'tacoserver',
  start: 1795691713977,
  end: 1795691713982.637,
  status: 'error',
  statusMessage: 'internal',
  attributes: { 'rpc.method': 'TacoService.EatTaco', 'http.response.status_code': 200, ok: true, tacos: ['Fish'] },
};

describe('spansFromOtlp', () => {
  it('flattens an export into spans, with the service, lower-case ids and times in milliseconds', () => {
    expect(spansFromOtlp(exported)).toEqual([span]);
  });

  it.each([
    [{}, 'the body has no resourceSpans list'],
    [
      { resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'xyz', spanId: '70e4ebfd9ca7b161' }] }] }] },
      `a span's traceId is not 32 hex digits: "xyz"`,
    ],
    [
      {
        resourceSpans: [
          {
            scopeSpans: [
              {
                spans: [
                  { traceId: span.traceId, spanId: span.spanId, startTimeUnixNano: 'soon', endTimeUnixNano: '1' },
                ],
              },
            ],
          },
        ],
      },
      'a span time is not a count of nanoseconds: "soon"',
    ],
  ])('refuses %j: %s', (body, message) => {
    expect(() => spansFromOtlp(body)).toThrow(message);
  });
});

describe('otlpReceiver', () => {
  let app: FastifyInstance;
  let endpoint: string;
  const received: SpanRecord[] = [];

  beforeAll(async () => {
    app = Fastify();
    await otlpReceiver(app, (spans) => received.push(...spans));
    endpoint = `${await app.listen({ host: '127.0.0.1', port: 0 })}/v1/traces`;
  });

  afterAll(() => app.close());

  async function post(body: string | Buffer, headers: Record<string, string>) {
    const response = await request(endpoint, { method: 'POST', headers, body });
    return { status: response.statusCode, body: await response.body.json() };
  }

  it('takes a JSON export, gzipped or not, and answers with nothing rejected', async () => {
    const json = JSON.stringify(exported);
    expect(await post(json, { 'content-type': 'application/json' })).toEqual({ status: 200, body: {} });
    expect(await post(gzipSync(json), { 'content-type': 'application/json', 'content-encoding': 'gzip' })).toEqual({
      status: 200,
      body: {},
    });
    expect(received).toEqual([span, span]);
  });

  it('refuses a protobuf export with 415 and the variable that switches the exporter to JSON', async () => {
    expect(await post(Buffer.from([0x0a, 0x00]), { 'content-type': 'application/x-protobuf' })).toEqual({
      status: 415,
      body: {
        code: 3,
        message: 'this receiver takes OTLP/JSON, not application/x-protobuf; set OTEL_EXPORTER_OTLP_PROTOCOL=http/json',
      },
    });
  });

  it('refuses a gzip bomb with 413 as soon as it inflates past the body limit', async () => {
    // 64 MiB of zeros in 64 KB; a 783 KB one (768 MiB inflated) took the runner from 144 to 1 668 MB.
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
    expect(await post(bomb, { 'content-type': 'application/json', 'content-encoding': 'gzip' })).toEqual({
      status: 413,
      body: { code: 3, message: 'the export inflates to more than 16 MiB' },
    });
  });

  it('refuses a body that is not an export with 400 and why', async () => {
    expect(await post('{"resourceSpans":', { 'content-type': 'application/json' })).toEqual({
      status: 400,
      body: { code: 3, message: 'not an OTLP/JSON trace export: the body is not JSON' },
    });
    expect(await post('{}', { 'content-type': 'application/json' })).toEqual({
      status: 400,
      body: { code: 3, message: 'not an OTLP/JSON trace export: the body has no resourceSpans list' },
    });
  });
});
