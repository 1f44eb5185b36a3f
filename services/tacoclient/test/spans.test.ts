import { fileURLToPath } from 'node:url';
import { serviceTestDatabase } from '@taco-run/database/testing';
import type { SpanRecord } from '@taco-run/dev-console';
import { otlpReceiver } from '@taco-run/dev-console/otlp';
import { freePort, type ServiceProcess, startService } from '@taco-run/project/process';
import { listenOnLoopback } from '@taco-run/rpc/testing';
import Fastify, { type FastifyInstance } from 'fastify';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The real bundles, tacoclient under runsd as `pnpm dev` runs it, exporting spans over OTLP/HTTP to a receiver here.

const tacoserverBundle = fileURLToPath(new URL('../../tacoserver/dist/main.js', import.meta.url));
const tacoclientBundle = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const runsd = fileURLToPath(new URL('../../../tools/runsd/dist/runsd.js', import.meta.url));
// tacoserver's own database, migrated, as the deploy leaves it.
const database = serviceTestDatabase(fileURLToPath(new URL('../../../', import.meta.url)), 'tacoserver');
beforeAll(database.start, 60_000);
afterAll(database.stop);

/** Node's own log of the ES modules it loads: which chunks of a bundle a service read. */
const moduleLog = { NODE_DEBUG: 'esm' };
const loadedOpenTelemetry = (service: ServiceProcess) =>
  service.stderr.some((line) => /\/opentelemetry-\w+\.js/.test(line));

describe.skipIf(database.missing)('spans across tacoclient and tacoserver, exported over OTLP', () => {
  let receiver: FastifyInstance;
  const spans: SpanRecord[] = [];
  let tacoserver: ServiceProcess;
  let tacoclient: ServiceProcess;

  beforeAll(async () => {
    receiver = Fastify();
    await otlpReceiver(receiver, (batch) => spans.push(...batch));
    const telemetry = { OTEL_EXPORTER_OTLP_ENDPOINT: await listenOnLoopback(receiver), OTEL_BSP_SCHEDULE_DELAY: '20' };
    tacoserver = await startService(tacoserverBundle, { DATABASE_URL: database.url, ...telemetry, ...moduleLog });
    tacoclient = await startService(
      tacoclientBundle,
      { ...telemetry, RUNSD_SERVICES: `tacoserver=${tacoserver.origin}` },
      { wrapper: [runsd, '--'] },
    );
  });

  afterAll(async () => {
    expect(await tacoclient.stop()).toBe(0);
    expect(await tacoserver.stop()).toBe(0);
    await receiver.close();
  });

  /** The spans of one trace, once `count` of them have arrived. */
  async function traceOf(traceId: () => string | undefined, count: number): Promise<SpanRecord[]> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const id = traceId();
      const found = spans.filter((span) => span.traceId === id);
      if (found.length >= count) return found;
      if (Date.now() > deadline) throw new Error(`${found.length} of ${count} spans arrived: ${JSON.stringify(spans)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('records GET / and its call to TacoService.EatTaco as one trace, each service logging under its own span', async () => {
    const userAgent = `spans-${Date.now()}`;
    const answer = await request(`${tacoclient.origin}/`, { headers: { 'user-agent': userAgent } });
    expect(await answer.body.text()).toBe('Sammy Sosa has consumed 2 tacos');

    const root = await traceOf(
      () => spans.find((span) => span.attributes['user_agent.original'] === userAgent)?.traceId,
      4,
    );
    const page = root.find((span) => span.name === 'GET /');
    const call = root.find((span) => span.kind === 'client' && span.service === 'tacoclient');
    const eat = root.find((span) => span.kind === 'server' && span.service === 'tacoserver');
    // The order's insert, under the request it was made for, naming its table and never its values.
    expect(root.find((span) => span.name === 'INSERT taco_orders')).toMatchObject({
      service: 'tacoserver',
      kind: 'client',
      parentSpanId: eat?.spanId,
      attributes: { 'db.system': 'postgresql', 'db.operation.name': 'INSERT', 'db.collection.name': 'taco_orders' },
    });
    expect(JSON.stringify(root)).not.toContain('Sammy Sosa');
    expect(page).toMatchObject({
      service: 'tacoclient',
      kind: 'server',
      status: 'unset',
      attributes: { 'http.request.method': 'GET', 'http.route': '/', 'http.response.status_code': 200 },
    });
    expect(page?.parentSpanId).toBeUndefined();
    expect(call).toMatchObject({
      service: 'tacoclient',
      name: 'TacoService.EatTaco',
      parentSpanId: page?.spanId,
      status: 'unset',
      attributes: {
        'rpc.system.name': 'oto',
        'rpc.method': 'TacoService.EatTaco',
        'rpc.status_code': 'ok',
        'server.address': 'tacoserver',
        'http.response.status_code': 200,
      },
    });
    expect(eat).toMatchObject({
      kind: 'server',
      name: 'TacoService.EatTaco',
      parentSpanId: call?.spanId,
      attributes: { 'rpc.method': 'TacoService.EatTaco', 'rpc.status_code': 'ok', 'http.response.status_code': 200 },
    });
    for (const span of root) expect(span.end).toBeGreaterThanOrEqual(span.start);

    // Each service's lines for the request carry the trace and the span they were written under.
    const traceId = page?.traceId ?? '';
    const clientLine = JSON.parse(await tacoclient.waitForLine((line) => line.includes(userAgent)));
    const serverLine = JSON.parse(
      await tacoserver.waitForLine((line) => line.includes(traceId) && line.includes('httpRequest')),
    );
    expect(clientLine).toMatchObject({
      'logging.googleapis.com/trace': traceId,
      'logging.googleapis.com/spanId': page?.spanId,
    });
    expect(serverLine).toMatchObject({
      'logging.googleapis.com/trace': traceId,
      'logging.googleapis.com/spanId': eat?.spanId,
    });
  });

  it('shows a tally as GET /tally → TacoService.TacoTally → SELECT taco_orders', async () => {
    const caller = '00-5bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const answer = await request(`${tacoclient.origin}/tally?name=Nobody`, { headers: { traceparent: caller } });
    expect(await answer.body.text()).toBe('Nobody has eaten 0 tacos in 0 orders');
    const trace = await traceOf(() => '5bf92f3577b34da6a3ce929d0e0e4736', 4);
    const page = trace.find((span) => span.name === 'GET /tally');
    const call = trace.find((span) => span.kind === 'client' && span.service === 'tacoclient');
    const tally = trace.find((span) => span.kind === 'server' && span.service === 'tacoserver');
    const select = trace.find((span) => span.name === 'SELECT taco_orders');
    expect(call).toMatchObject({ name: 'TacoService.TacoTally', parentSpanId: page?.spanId });
    expect(tally).toMatchObject({ name: 'TacoService.TacoTally', parentSpanId: call?.spanId });
    expect(select).toMatchObject({ service: 'tacoserver', parentSpanId: tally?.spanId });
  });

  it('marks a refused call as failed on the caller, and the server that refused it as not at fault', async () => {
    const caller = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const answer = await request(`${tacoclient.origin}/?name=`, { headers: { traceparent: caller } });
    expect(answer.statusCode).toBe(400);
    await answer.body.dump();
    const trace = await traceOf(() => '4bf92f3577b34da6a3ce929d0e0e4736', 3);
    expect(trace.find((span) => span.name === 'GET /')).toMatchObject({ parentSpanId: '00f067aa0ba902b7' });
    expect(trace.find((span) => span.kind === 'client' && span.service === 'tacoclient')).toMatchObject({
      status: 'error',
      statusMessage: 'invalid_argument',
      attributes: {
        'rpc.status_code': 'invalid_argument',
        'error.type': 'invalid_argument',
        'http.response.status_code': 400,
      },
    });
    expect(trace.find((span) => span.service === 'tacoserver')).toMatchObject({
      status: 'unset',
      attributes: { 'rpc.status_code': 'invalid_argument', 'http.response.status_code': 400 },
    });
  });

  it('loads OpenTelemetry, a chunk of its own in the bundle, only when an endpoint is set', async () => {
    expect(loadedOpenTelemetry(tacoserver)).toBe(true);
    const untraced = await startService(tacoserverBundle, { DATABASE_URL: database.url, ...moduleLog });
    try {
      const answer = await request(`${untraced.origin}/oto/TacoService.EatTaco`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"name":"Ana","tacos":["Fish"]}',
      });
      expect(await answer.body.text()).toBe('{"tacoConsumptionStatus":"Ana has consumed 1 tacos"}');
      expect(untraced.stderr.some((line) => line.includes('/dist/main.js'))).toBe(true);
      expect(loadedOpenTelemetry(untraced)).toBe(false);
    } finally {
      expect(await untraced.stop()).toBe(0);
    }
  });

  it('says once, as a warning, that spans cannot be exported when the collector is not there, and keeps answering', async () => {
    const deadEnd = `http://127.0.0.1:${await freePort()}`;
    const lonely = await startService(tacoserverBundle, {
      DATABASE_URL: database.url,
      OTEL_EXPORTER_OTLP_ENDPOINT: deadEnd,
      OTEL_BSP_SCHEDULE_DELAY: '20',
      // The exporter retries a refused export until its timeout (10 s by default) before it reports a failure.
      OTEL_EXPORTER_OTLP_TIMEOUT: '500',
    });
    try {
      const eat = () =>
        request(`${lonely.origin}/oto/TacoService.EatTaco`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"name":"Ana","tacos":["Fish"]}',
        }).then((answer) => answer.body.text());
      expect(await eat()).toBe('{"tacoConsumptionStatus":"Ana has consumed 1 tacos"}');
      const warning = JSON.parse(await lonely.waitForLine((line) => line.includes('spans were not exported')));
      expect(warning).toMatchObject({ severity: 'WARNING' });
      // The batch's timer started during the request; its failure is not that request's.
      expect(warning['logging.googleapis.com/trace']).toBeUndefined();
      expect(warning.message).toMatch(/^telemetry: spans were not exported: /);
      // Later failures within the minute are not said again.
      expect(await eat()).toBe('{"tacoConsumptionStatus":"Ana has consumed 1 tacos"}');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(lonely.lines.filter((line) => line.includes('spans were not exported'))).toHaveLength(1);
    } finally {
      expect(await lonely.stop()).toBe(0);
    }
  });
});
