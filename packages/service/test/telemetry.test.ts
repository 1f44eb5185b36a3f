import { trace } from '@opentelemetry/api';
import type { SpanRecord } from '@taco-run/dev-console';
import { otlpReceiver } from '@taco-run/dev-console/otlp';
import { listenOnLoopback } from '@taco-run/rpc/testing';
import Fastify, { type FastifyInstance } from 'fastify';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServiceApp } from '../src/index.js';
import { telemetryWanted } from '../src/telemetry/index.js';

describe('telemetryWanted', () => {
  it.each([
    [{}, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, true],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }, true],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: '' }, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'TRUE' }, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none' }, false],
  ])('reads %j as %s', (env, wanted) => {
    expect(telemetryWanted(env)).toBe(wanted);
  });
});

describe('a service app with telemetry on', () => {
  let receiver: FastifyInstance;
  let app: FastifyInstance;
  let origin: string;
  const spans: SpanRecord[] = [];
  const saved = { ...process.env };

  beforeAll(async () => {
    receiver = Fastify();
    await otlpReceiver(receiver, (batch) => spans.push(...batch));
    // What the SDK reads when the app loads it, as a service's environment would say.
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = await listenOnLoopback(receiver);
    process.env.OTEL_BSP_SCHEDULE_DELAY = '20';
    app = createServiceApp({ name: 'probe', logLevel: 'silent', telemetry: true });
    app.get('/boom', async () => {
      throw new Error('the fryer caught fire');
    });
    // A handler that uses OpenTelemetry's API itself, with no reference to the service kit.
    app.get('/cook', async () => {
      trace.getActiveSpan()?.setAttribute('tacos', 2);
      return trace.getTracer('kitchen').startActiveSpan('cook', (span) => {
        const inside = trace.getActiveSpan()?.spanContext().spanId;
        span.end();
        return { inside, cook: span.spanContext().spanId };
      });
    });
    // Answers only after its caller has hung up.
    app.get('/slow', async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return { late: true };
    });
    origin = await listenOnLoopback(app);
  });

  afterAll(async () => {
    await app.close();
    await receiver.close();
    process.env = saved;
  });

  async function spanNamed(name: string, path: string): Promise<SpanRecord> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const found = spans.find((span) => span.name === name && span.attributes['url.path'] === path);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`no span ${name} for ${path} among ${JSON.stringify(spans)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it("fails a request's span when the service is at fault, with error.type from the protocol's code", async () => {
    const response = await request(`${origin}/boom`);
    expect(await response.body.json()).toEqual({ error: 'internal error', code: 'internal' });
    expect(await spanNamed('GET /boom', '/boom')).toMatchObject({
      kind: 'server',
      service: 'probe',
      status: 'error',
      statusMessage: 'internal',
      attributes: { 'http.response.status_code': 500, 'error.type': 'internal', 'http.route': '/boom' },
    });
  });

  it('names the span of a request no route matched by its method alone, and leaves it unfailed', async () => {
    const response = await request(`${origin}/nowhere?x=1`);
    await response.body.dump();
    const span = await spanNamed('GET', '/nowhere');
    expect(span).toMatchObject({ status: 'unset', attributes: { 'http.response.status_code': 404 } });
    expect(span.attributes['http.route']).toBeUndefined();
  });

  it('ends the span of a request whose caller hung up, once, with no status and not failed', async () => {
    const gone = new AbortController();
    const call = request(`${origin}/slow`, { signal: gone.signal });
    setTimeout(() => gone.abort(), 50);
    await expect(call).rejects.toThrow();
    const span = await spanNamed('GET /slow', '/slow');
    expect(span.status).toBe('unset');
    expect(span.attributes['http.response.status_code']).toBeUndefined();
    // The handler still answers into the void at 300 ms: the span is not exported a second time.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(spans.filter((candidate) => candidate.name === 'GET /slow')).toHaveLength(1);
  });

  it('records no span for the health probe, which still answers', async () => {
    const probe = await request(`${origin}/healthz`);
    expect(await probe.body.json()).toEqual({ status: 'ok', service: 'probe' });
    // Spans are exported in the order they end: once a later request's has come, the probe's would have too.
    const after = await request(`${origin}/after-the-probe`);
    await after.body.dump();
    await spanNamed('GET', '/after-the-probe');
    expect(spans.filter((span) => span.attributes['url.path'] === '/healthz')).toEqual([]);
  });

  it("gives a handler the request's span as OpenTelemetry's active span, and its own spans as children", async () => {
    const response = await request(`${origin}/cook`);
    const { inside, cook } = (await response.body.json()) as { inside: string; cook: string };
    expect(inside).toBe(cook);
    const server = await spanNamed('GET /cook', '/cook');
    expect(server.attributes.tacos).toBe(2);
    const deadline = Date.now() + 5_000;
    while (!spans.some((span) => span.spanId === cook) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(spans.find((span) => span.spanId === cook)).toMatchObject({
      name: 'cook',
      traceId: server.traceId,
      parentSpanId: server.spanId,
    });
  });
});
