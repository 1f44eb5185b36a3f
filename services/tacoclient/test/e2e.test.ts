import { fileURLToPath } from 'node:url';
import { serviceTestDatabase } from '@taco-run/database/testing';
import { jsonLines, type ServiceProcess, startService } from '@taco-run/project/process';
import { listenOnLoopback } from '@taco-run/rpc/testing';
import Fastify, { type FastifyInstance } from 'fastify';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// tacoclient → tacoserver, both as the real built bundles in their own processes.

const tacoserverBundle = fileURLToPath(new URL('../../tacoserver/dist/main.js', import.meta.url));
const tacoclientBundle = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const runsd = fileURLToPath(new URL('../../../tools/runsd/dist/runsd.js', import.meta.url));
// tacoserver's own database, migrated, as the deploy leaves it.
const database = serviceTestDatabase(fileURLToPath(new URL('../../../', import.meta.url)), 'tacoserver');
beforeAll(database.start, 60_000);
afterAll(database.stop);
const startTacoserver = () => startService(tacoserverBundle, { DATABASE_URL: database.url });

async function get(origin: string, path = '/', headers: Record<string, string> = {}) {
  const response = await request(`${origin}${path}`, { headers });
  return { status: response.statusCode, type: response.headers['content-type'], text: await response.body.text() };
}

describe.skipIf(database.missing)('tacoclient calling tacoserver', () => {
  let tacoserver: ServiceProcess;
  let tacoclient: ServiceProcess;

  beforeAll(async () => {
    tacoserver = await startTacoserver();
    tacoclient = await startService(tacoclientBundle, { TACOSERVER_URL: `${tacoserver.origin}/oto/` });
  });

  afterAll(async () => {
    expect(await tacoclient.stop()).toBe(0);
    expect(await tacoserver.stop()).toBe(0);
  });

  it('answers GET / with the line the README promises', async () => {
    expect(await get(tacoclient.origin)).toEqual({
      status: 200,
      type: 'text/plain; charset=utf-8',
      text: 'Sammy Sosa has consumed 2 tacos',
    });
  });

  it('answers GET /tally with what tacoserver kept of the orders', async () => {
    for (const tacos of ['Chicken,Chorizo', 'Fish', 'Nopales,Carnitas,Birria']) {
      expect((await get(tacoclient.origin, `/?name=Tally%20Ana&tacos=${tacos}`)).status).toBe(200);
    }
    expect(await get(tacoclient.origin, '/tally?name=Tally%20Ana')).toEqual({
      status: 200,
      type: 'text/plain; charset=utf-8',
      text: 'Tally Ana has eaten 6 tacos in 3 orders',
    });
    expect((await get(tacoclient.origin, '/tally?name=Nobody')).text).toBe('Nobody has eaten 0 tacos in 0 orders');
    expect((await get(tacoclient.origin, '/tally?name=')).status).toBe(400);
  });

  it('passes an order from the query string', async () => {
    expect((await get(tacoclient.origin, '/?name=Ana&tacos=Fish,Carnitas,Nopales')).text).toBe(
      'Ana has consumed 3 tacos',
    );
  });

  it.each([
    ['/?tacos=a&tacos=b', '?tacos must be given once, as a comma-separated list'],
    ['/?name=Ana&name=Bo', '?name must be given once, as a name'],
  ])('answers %s with a 400 that says why', async (path, message) => {
    expect(await get(tacoclient.origin, path)).toEqual({
      status: 400,
      type: 'text/plain; charset=utf-8',
      text: `tacoclient: ${message}\n`,
    });
  });

  it.each([
    ['an empty name', '/?name=', 'EatTacoRequest.Name is required'],
    ['an empty taco list', '/?tacos=', 'EatTacoRequest.Tacos is required'],
  ])("shows tacoserver's validation error for %s as a 400", async (_case, path, message) => {
    expect(await get(tacoclient.origin, path)).toEqual({
      status: 400,
      type: 'text/plain; charset=utf-8',
      text: `tacoserver (${tacoserver.origin}/oto/) failed: invalid_argument: ${message}\n`,
    });
  });

  it("carries the caller's traceparent on, so both services log the same trace", async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    await get(tacoclient.origin, '/', { traceparent: `00-${traceId}-b7ad6b7169203331-01` });
    const client = await tacoclient.waitForLine((line) => line.includes(traceId) && line.includes('httpRequest'));
    const server = await tacoserver.waitForLine((line) => line.includes(traceId) && line.includes('httpRequest'));
    expect(JSON.parse(client)).toMatchObject({
      severity: 'INFO',
      'logging.googleapis.com/trace': traceId,
      httpRequest: { status: 200 },
    });
    expect(JSON.parse(server)).toMatchObject({
      severity: 'INFO',
      'logging.googleapis.com/trace': traceId,
      httpRequest: { status: 200 },
    });
  });

  it('starts a trace for a request that brings none, and both services log it, each under its own span', async () => {
    const userAgent = `untraced-${Date.now()}`;
    expect((await get(tacoclient.origin, '/', { 'user-agent': userAgent })).status).toBe(200);
    const client = JSON.parse(await tacoclient.waitForLine((line) => line.includes(userAgent)));
    const traceId = client['logging.googleapis.com/trace'];
    expect(traceId).toMatch(/^[\da-f]{32}$/);
    const server = JSON.parse(
      await tacoserver.waitForLine((line) => line.includes(traceId) && line.includes('httpRequest')),
    );
    expect(server).toMatchObject({
      'logging.googleapis.com/trace': traceId,
      'logging.googleapis.com/trace_sampled': true,
    });
    // tacoserver runs under the span of tacoclient's call, a child of tacoclient's own.
    expect(client['logging.googleapis.com/spanId']).toMatch(/^[\da-f]{16}$/);
    expect(server['logging.googleapis.com/spanId']).toMatch(/^[\da-f]{16}$/);
    expect(server['logging.googleapis.com/spanId']).not.toBe(client['logging.googleapis.com/spanId']);
  });

  it('logs JSON lines with a severity on each', () => {
    const lines = [...jsonLines(tacoclient.lines), ...jsonLines(tacoserver.lines)];
    expect(lines.length).toBeGreaterThan(4);
    for (const line of lines)
      expect(line).toEqual(expect.objectContaining({ severity: expect.any(String), message: expect.any(String) }));
  });
});

describe.skipIf(database.missing)('tacoclient under runsd in local mode', () => {
  it('reaches tacoserver by its short name, with no URL configured', async () => {
    const tacoserver = await startTacoserver();
    const tacoclient = await startService(
      tacoclientBundle,
      { RUNSD_SERVICES: `tacoserver=${tacoserver.origin}` },
      { wrapper: [runsd, '--'] },
    );
    try {
      expect(await get(tacoclient.origin)).toMatchObject({ status: 200, text: 'Sammy Sosa has consumed 2 tacos' });
      // tacoserver's access line names the caller: runsd's prefix before the generated client's agent.
      const line = await tacoserver.waitForLine((text) => text.includes('"requestUrl":"/oto/TacoService.EatTaco"'));
      expect(JSON.parse(line).httpRequest.userAgent).toBe('runsd version=0.1.0; taco-run-rpc/0.1.0');
    } finally {
      expect(await tacoclient.stop()).toBe(0);
      expect(await tacoserver.stop()).toBe(0);
    }
  });
});

describe.skipIf(database.missing)('tacoclient when tacoserver fails', () => {
  let fake: FastifyInstance;
  let fakeOrigin: string;
  const seen: { traceparent?: string | string[] | undefined }[] = [];

  beforeAll(async () => {
    // Stands in for tacoserver where a real one cannot misbehave on cue.
    fake = Fastify();
    fake.post('/slow/TacoService.EatTaco', async (request) => {
      seen.push({ traceparent: request.headers.traceparent });
      await new Promise((resolve) => setTimeout(resolve, 400));
      return { tacoConsumptionStatus: 'slowly consumed' };
    });
    fake.post('/broken/TacoService.EatTaco', async (_request, reply) =>
      reply.code(500).send({ error: 'the grill is on fire', code: 'internal' }),
    );
    fakeOrigin = await listenOnLoopback(fake);
  });

  afterAll(() => fake.close());

  it('answers 502 naming the upstream when tacoserver is down', async () => {
    const down = await startTacoserver();
    await down.stop();
    const client = await startService(tacoclientBundle, { TACOSERVER_URL: `${down.origin}/oto/` });
    try {
      const response = await get(client.origin);
      expect(response.status).toBe(502);
      expect(response.text).toMatch(
        new RegExp(
          `^tacoserver \\(${down.origin}/oto/\\) failed: unavailable: cannot reach ${down.origin}: ECONNREFUSED`,
        ),
      );
      expect(response.text).not.toContain('    at ');
    } finally {
      expect(await client.stop()).toBe(0);
    }
  });

  it("answers 502 with tacoserver's code and message when it fails", async () => {
    const client = await startService(tacoclientBundle, { TACOSERVER_URL: `${fakeOrigin}/broken/` });
    try {
      expect(await get(client.origin)).toMatchObject({
        status: 502,
        text: `tacoserver (${fakeOrigin}/broken/) failed: internal: the grill is on fire\n`,
      });
    } finally {
      await client.stop();
    }
  });

  it('answers 504 when tacoserver is slower than TACOSERVER_TIMEOUT_MS', async () => {
    const client = await startService(tacoclientBundle, {
      TACOSERVER_URL: `${fakeOrigin}/slow/`,
      TACOSERVER_TIMEOUT_MS: '100',
    });
    try {
      expect(await get(client.origin)).toMatchObject({
        status: 504,
        text: `tacoserver (${fakeOrigin}/slow/) failed: deadline_exceeded: no answer within 100 ms\n`,
      });
    } finally {
      await client.stop();
    }
  });

  it('finishes 50 in-flight requests after SIGTERM and exits 0', async () => {
    const client = await startService(tacoclientBundle, { TACOSERVER_URL: `${fakeOrigin}/slow/` });
    try {
      seen.length = 0;
      const traceparent = '00-11111111111111111111111111111111-2222222222222222-01';
      const calls = Array.from({ length: 50 }, () =>
        get(client.origin, '/', { traceparent }).catch((error: Error) => ({ status: 0, text: error.message })),
      );
      // All 50 have reached the slow upstream, so all are in flight in tacoclient.
      while (seen.length < 50) await new Promise((resolve) => setTimeout(resolve, 10));
      client.child.kill('SIGTERM');
      const results = await Promise.all(calls);
      expect(results.map((result) => `${result.status} ${result.text}`)).toEqual(Array(50).fill('200 slowly consumed'));
      // Each call carries the caller's trace on, as a span of its own.
      const child = /^00-11111111111111111111111111111111-([\da-f]{16})-01$/;
      expect(seen.every((headers) => child.test(String(headers.traceparent)))).toBe(true);
      expect(new Set(seen.map((headers) => headers.traceparent)).size).toBe(50);
      expect(await client.exited).toBe(0);
    } finally {
      await client.stop();
    }
  });

  it('refuses a TACOSERVER_URL that is not a URL', async () => {
    await expect(startService(tacoclientBundle, { TACOSERVER_URL: 'tacoserver' })).rejects.toThrow(
      'tacoclient: TACOSERVER_URL must be an http:// or https:// URL, got "tacoserver"',
    );
  });
});
