import { fileURLToPath } from 'node:url';
import { serviceTestDatabase } from '@taco-run/database/testing';
import { freePort, heldBody, jsonLines, type ServiceProcess, startService } from '@taco-run/project/process';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// tacoserver as Cloud Run runs it: the built bundle, as a process, on a free port.

const bundle = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const root = fileURLToPath(new URL('../../../', import.meta.url));
// Its own database, migrated as the deploy migrates it before a revision serves.
const database = serviceTestDatabase(root, 'tacoserver');
beforeAll(database.start, 60_000);
afterAll(database.stop);

function startTacoserver(
  env: Record<string, string> = {},
  options?: Parameters<typeof startService>[2],
): Promise<ServiceProcess> {
  return startService(bundle, { DATABASE_URL: database.url, ...env }, options);
}

async function tally(origin: string, name: string) {
  const response = await request(`${origin}/oto/TacoService.TacoTally`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  return { status: response.statusCode, body: (await response.body.json()) as Record<string, unknown> };
}

async function eat(origin: string, body: string, headers: Record<string, string> = {}) {
  const response = await request(`${origin}/oto/TacoService.EatTaco`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: response.statusCode, body: (await response.body.json()) as Record<string, unknown> };
}

describe.skipIf(database.missing)('tacoserver', () => {
  let server: ServiceProcess;

  beforeAll(async () => {
    server = await startTacoserver({ GOOGLE_CLOUD_PROJECT: 'taco-project' });
  });

  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it('answers EatTaco with the consumption status', async () => {
    const response = await eat(server.origin, '{"name":"Sammy Sosa","tacos":["Chicken","Chorizo"]}');
    expect(response).toEqual({ status: 200, body: { tacoConsumptionStatus: 'Sammy Sosa has consumed 2 tacos' } });
  });

  it('keeps each order, and tallies them by name, a hostile name as any other', async () => {
    for (const name of ['Tally Tester', "Robert'); drop table taco_orders; --"]) {
      expect(await tally(server.origin, name)).toEqual({ status: 200, body: { tacos: 0, orders: 0 } });
      for (const tacos of [['Chicken', 'Chorizo'], ['Fish'], ['Al pastor', 'Carnitas', 'Birria']]) {
        expect((await eat(server.origin, JSON.stringify({ name, tacos }))).status).toBe(200);
      }
      expect(await tally(server.origin, name)).toEqual({ status: 200, body: { tacos: 6, orders: 3 } });
    }
  });

  it('rejects a tally without a name with invalid_argument', async () => {
    expect(await tally(server.origin, '')).toMatchObject({
      status: 400,
      body: { error: 'TacoTallyRequest.Name is required', code: 'invalid_argument' },
    });
  });

  it.each([
    ['an empty name', '{"name":"","tacos":["Chicken"]}', 'EatTacoRequest.Name is required', 'name'],
    ['no name', '{"tacos":["Chicken"]}', 'EatTacoRequest.Name is required', 'name'],
    ['an empty taco list', '{"name":"Sammy","tacos":[]}', 'EatTacoRequest.Tacos is required', 'tacos'],
    ['a name that is not a string', '{"name":5,"tacos":["Chicken"]}', 'EatTacoRequest.Name must be string', 'name'],
  ])('rejects %s with invalid_argument', async (_case, body, message, path) => {
    const response = await eat(server.origin, body);
    expect(response).toEqual({
      status: 400,
      body: { error: message, code: 'invalid_argument', details: [{ path, message }] },
    });
  });

  it('serves GET /healthz for the startup probe, and logs probes only at debug', async () => {
    for (const path of ['/healthz', '/healthz?probe=startup']) {
      const response = await request(`${server.origin}${path}`);
      expect(response.statusCode).toBe(200);
      expect(await response.body.json()).toEqual({ status: 'ok', service: 'tacoserver' });
    }
    // An RPC after the probes: once its line is out, a probe's line would be out too.
    await eat(server.origin, '{"name":"After","tacos":["Fish"]}', { 'user-agent': 'after-probes/1' });
    await server.waitForLine((line) => line.includes('after-probes/1'));
    expect(server.lines.filter((line) => line.includes('"requestUrl":"/healthz'))).toEqual([]);
  });

  it("logs one line per RPC, with the caller's User-Agent, in JSON Cloud Logging reads", async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    await eat(server.origin, '{"name":"Logged","tacos":["Fish"]}', {
      'user-agent': 'taco-test/1.0',
      traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
    });
    await server.waitForLine(
      (line) => line.includes('"requestUrl":"/oto/TacoService.EatTaco"') && line.includes(traceId),
    );
    const lines = jsonLines(server.lines).filter(
      (line) => line['logging.googleapis.com/trace'] === `projects/taco-project/traces/${traceId}`,
    );
    expect(lines.map((line) => [line.severity, line.message])).toEqual([['INFO', 'POST /oto/TacoService.EatTaco 200']]);
    expect(lines[0]).toMatchObject({
      serviceContext: { service: 'tacoserver' },
      'logging.googleapis.com/spanId': '00f067aa0ba902b7',
      'logging.googleapis.com/trace_sampled': true,
      httpRequest: {
        requestMethod: 'POST',
        requestUrl: '/oto/TacoService.EatTaco',
        status: 200,
        userAgent: 'taco-test/1.0',
      },
    });
    // Whole microseconds as seconds: at most six decimals, no trailing zero.
    expect(lines[0]?.httpRequest).toHaveProperty('latency', expect.stringMatching(/^(0|[1-9]\d*)(\.\d{0,5}[1-9])?s$/));
    // RFC 3339 in UTC to the millisecond (made once per millisecond, so it must still be this one's).
    const time = String(lines[0]?.time);
    expect(time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Math.abs(Date.parse(time) - Date.now())).toBeLessThan(10_000);
  });

  it('takes the trace from X-Cloud-Trace-Context when there is no traceparent', async () => {
    const traceId = 'aaaabbbbccccddddeeeeffff00001111';
    await eat(server.origin, '{"name":"Legacy","tacos":["Fish"]}', { 'x-cloud-trace-context': `${traceId}/1;o=1` });
    const line = await server.waitForLine((text) => text.includes(traceId) && text.includes('httpRequest'));
    expect(JSON.parse(line)).toMatchObject({
      'logging.googleapis.com/trace': `projects/taco-project/traces/${traceId}`,
      'logging.googleapis.com/spanId': '0000000000000001',
      'logging.googleapis.com/trace_sampled': true,
    });
  });
});

describe.skipIf(database.missing)('tacoserver start-up and shutdown', () => {
  it('drains on SIGHUP as on SIGTERM: a held upload is answered, then it exits 0', async () => {
    // runsd passes SIGHUP on (a closed terminal sends it): a service must not die of it mid-request.
    // At debug, each RPC says when it arrives ("request from …"), which is how the test sees it in flight.
    const server = await startTacoserver({ LOG_LEVEL: 'debug' });
    try {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      const body = JSON.stringify({ name: 'Held', tacos: ['Chicken'] });
      const call = request(`${server.origin}/oto/TacoService.EatTaco`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
        body: heldBody(body, gate),
      }).then(async (response) => ({
        status: response.statusCode,
        // Told to close, so that the caller does not send another request on a connection that is going away.
        connection: response.headers.connection,
        body: await response.body.json(),
      }));
      await waitFor(() => server.lines.some((line) => line.includes('request from')));
      server.child.kill('SIGHUP');
      await server.waitForLine((line) => line.includes('SIGHUP: draining'));
      release();
      expect(await call).toEqual({
        status: 200,
        connection: 'close',
        body: { tacoConsumptionStatus: 'Held has consumed 1 tacos' },
      });
      expect(await server.exited).toBe(0);
    } finally {
      await server.stop();
    }
  });

  it('answers with its stdout drained by a process of its own, which ends with it', async () => {
    // How the bench runs the service as shipped: its log lines cost the service, not the load generator.
    const port = await freePort();
    const service = await startTacoserver({}, { port, stdout: 'drain' });
    const drain = service.drainPid;
    expect(drain).toEqual(expect.any(Number));
    const response = await eat(service.origin, '{"name":"Sammy Sosa","tacos":["Chicken"]}');
    expect(response.status).toBe(200);
    expect(service.lines).toEqual([]);
    expect(await service.stop()).toBe(0);
    expect(() => process.kill(drain as number, 0)).toThrow();
  });

  it('leaves the access line to Cloud Run on Cloud Run, and still logs what failed', async () => {
    const service = await startTacoserver({ K_SERVICE: 'tacoserver' });
    try {
      const ok = await eat(service.origin, '{"name":"Quiet","tacos":["Fish"]}', { 'user-agent': 'quiet/1' });
      expect(ok.status).toBe(200);
      // A refused request after it: once that one's line is out, an access line for the first would be out too.
      const refused = await eat(service.origin, '{"name":"","tacos":["Fish"]}', { 'user-agent': 'refused/1' });
      expect(refused.status).toBe(400);
      const line = await service.waitForLine((text) => text.includes('EatTacoRequest.Name is required'));
      expect(JSON.parse(line)).toMatchObject({ severity: 'INFO', code: 'invalid_argument' });
      expect(service.lines.filter((text) => text.includes('httpRequest'))).toEqual([]);
    } finally {
      expect(await service.stop()).toBe(0);
    }
  });

  it('writes access lines on Cloud Run when LOG_REQUESTS=true', async () => {
    const service = await startTacoserver({ K_SERVICE: 'tacoserver', LOG_REQUESTS: 'true' });
    try {
      await eat(service.origin, '{"name":"Loud","tacos":["Fish"]}', { 'user-agent': 'loud/1' });
      const line = await service.waitForLine((text) => text.includes('httpRequest'));
      expect(JSON.parse(line)).toMatchObject({ httpRequest: { status: 200, userAgent: 'loud/1' } });
    } finally {
      expect(await service.stop()).toBe(0);
    }
  });

  it('refuses LOG_REQUESTS=yes with one clear line and exit 1', async () => {
    await expect(startTacoserver({ LOG_REQUESTS: 'yes' })).rejects.toThrow(
      'tacoserver: LOG_REQUESTS must be true or false, got "yes"',
    );
  });

  it('refuses a CORS_ORIGINS entry that is not an origin with one clear line and exit 1', async () => {
    await expect(startTacoserver({ CORS_ORIGINS: 'https://tacos.example.com,tacos.example.com/' })).rejects.toThrow(
      'tacoserver: CORS_ORIGINS must list origins such as https://app.example.com (a scheme and a host, and a port if not the default; no path), or *, got "https://tacos.example.com,tacos.example.com/"',
    );
  });

  it('refuses to start without DATABASE_URL, saying who sets it, and never shows its value', async () => {
    await expect(startService(bundle, {})).rejects.toThrow(
      'tacoserver: DATABASE_URL is not set: the tools set it for a service with a database (pnpm dev, the deploy); to run its bundle alone, set it to a PostgreSQL of your own',
    );
    const refused = startService(bundle, { DATABASE_URL: 'mysql://root:hunter2@db/tacos' });
    await expect(refused).rejects.toThrow('tacoserver: DATABASE_URL must be a postgresql:// URL');
    await expect(refused).rejects.not.toThrow('hunter2');
  });

  it('loads its database driver (Kysely and node-postgres) at its first query, not at start', async () => {
    // Node's own log of the ES modules it loads: the driver is a chunk of the bundle of its own.
    const service = await startTacoserver({ NODE_DEBUG: 'esm' });
    try {
      const loaded = () => service.stderr.some((line) => /\/database-driver-\w+\.js/.test(line));
      const health = await request(`${service.origin}/healthz`);
      await health.body.dump();
      expect(loaded()).toBe(false);
      expect((await eat(service.origin, '{"name":"Lazy","tacos":["Fish"]}')).status).toBe(200);
      expect(loaded()).toBe(true);
    } finally {
      expect(await service.stop()).toBe(0);
    }
  });

  it('answers 503 naming the migration its database lacks, and /healthz at once, without waiting on the database', async () => {
    const service = await startTacoserver({ DATABASE_URL: await database.createEmpty('unmigrated') });
    try {
      const health = await request(`${service.origin}/healthz`);
      expect(health.statusCode).toBe(200);
      await health.body.dump();
      expect(await eat(service.origin, '{"name":"Early","tacos":["Fish"]}')).toEqual({
        status: 503,
        body: {
          error: 'the database is not ready: migration 0001_taco_orders.sql is not applied to this database',
          code: 'unavailable',
        },
      });
    } finally {
      expect(await service.stop()).toBe(0);
    }
  });

  it('refuses PORT=abc with one clear line and exit 1', async () => {
    await expect(startTacoserver({ PORT: 'abc' })).rejects.toThrow(
      'tacoserver: PORT must be a port number from 0 to 65535, got "abc"',
    );
  });

  it('finishes 50 in-flight slow requests after SIGTERM and exits 0', async () => {
    const server = await startTacoserver({ LOG_LEVEL: 'debug' });
    const agent = new Agent({ connections: 100 });
    try {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      // Each request sends half its body, then waits: the server has it in flight when the signal comes.
      const calls = Array.from({ length: 50 }, async (_, i) => {
        const body = JSON.stringify({ name: `Eater ${i}`, tacos: ['Chicken'] });
        const response = await request(`${server.origin}/oto/TacoService.EatTaco`, {
          method: 'POST',
          dispatcher: agent,
          headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
          body: heldBody(body, gate),
        });
        return { status: response.statusCode, body: await response.body.json() };
      });
      await waitFor(() => server.lines.filter((line) => line.includes('request from')).length === 50);

      server.child.kill('SIGTERM');
      await server.waitForLine((line) => line.includes('SIGTERM: draining'));
      release();

      const results = await Promise.all(calls);
      expect(results.filter((result) => result.status === 200)).toHaveLength(50);
      expect(results[7]?.body).toEqual({ tacoConsumptionStatus: 'Eater 7 has consumed 1 tacos' });
      expect(await server.exited).toBe(0);
    } finally {
      await server.stop();
      await agent.close();
    }
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
