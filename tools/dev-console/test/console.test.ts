import { fileURLToPath } from 'node:url';
import { freePort, type ServiceProcess, startService } from '@taco-run/project/process';
import { loadProject } from '@taco-run/project/services';
import { fixtureBundle, fixtureProject } from '@taco-run/project/testing';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevConsole, startDevConsole } from '../src/server.js';
import type { ApiView, CallResult, Overview, TraceRecord } from '../src/views.js';

// The console over the fixture project, with its tacoserver and tacoclient as their real bundles.

const root = fileURLToPath(new URL('../../../', import.meta.url));

async function json<T>(
  url: string,
  init: { method?: 'GET' | 'POST'; body?: unknown } = {},
): Promise<{ status: number; body: T }> {
  const response = await request(url, {
    method: init.method ?? 'GET',
    ...(init.body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(init.body) }),
  });
  return { status: response.statusCode, body: (await response.body.json()) as T };
}

async function eventually<T>(read: () => Promise<T | undefined>, what: string, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`still waiting for ${what} after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('the dev console', () => {
  const running = () => {
    if (devConsole === undefined) throw new Error('the console did not start');
    return devConsole;
  };
  let devConsole: DevConsole | undefined;
  let tacoserver: ServiceProcess;
  let tacoclient: ServiceProcess;

  beforeAll(async () => {
    // As the runners do: the console's port chosen first, for the services' OTLP endpoint; the console started
    // once the services' URLs are known.
    const port = await freePort();
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_BSP_SCHEDULE_DELAY: '20' };
    const feed = (name: string) => ({
      onLine: (line: string, stream: string) => {
        if (stream === 'stdout') devConsole?.addLogLine(name, line);
      },
    });
    tacoserver = await startService(fixtureBundle('tacoserver'), env, feed('tacoserver'));
    tacoclient = await startService(
      fixtureBundle('tacoclient'),
      { ...env, TACOSERVER_URL: `${tacoserver.origin}/oto/` },
      feed('tacoclient'),
    );
    devConsole = await startDevConsole({
      project: loadProject(fixtureProject),
      modelFile: 'packages/generated/model.json',
      urls: new Map([
        ['tacoserver', tacoserver.origin],
        ['tacoclient', tacoclient.origin],
      ]),
      port,
      pageDir: `${root}tools/dev-console/dist/page`,
      runner: 'the test',
      healthInterval: 100,
    });
  });

  afterAll(async () => {
    await tacoclient?.stop();
    await tacoserver?.stop();
    await devConsole?.close();
  });

  it('serves its page', async () => {
    const page = await request(running().url);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(await page.body.text()).toContain('<script type="module" src="/app.js"></script>');
    const script = await request(`${running().url}/app.js`);
    expect(script.statusCode).toBe(200);
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    await script.body.dump();
  });

  it('lists every service with its URL, its calls and callers, and its health once it answers', async () => {
    const overview = await eventually(async () => {
      const { body } = await json<Overview>(`${running().url}/api/overview`);
      return body.services.every((service) => service.health === 'healthy') ? body : undefined;
    }, 'both services healthy');
    expect(overview).toEqual({
      runner: 'the test',
      services: [
        {
          name: 'tacoclient',
          url: tacoclient.origin,
          serves: [],
          calls: ['tacoserver'],
          calledBy: [],
          invokers: [],
          public: false,
          health: 'healthy',
        },
        {
          name: 'tacoserver',
          url: tacoserver.origin,
          serves: ['TacoService'],
          calls: [],
          calledBy: ['tacoclient'],
          invokers: [],
          public: false,
          health: 'healthy',
        },
      ],
      tracesKept: 50,
      callers: [],
    });
  });

  it('describes every API under the services that serve it, with docs, an example and the schema', async () => {
    const { body } = await json<ApiView[]>(`${running().url}/api/apis`);
    expect(body).toHaveLength(1);
    const [api] = body;
    expect(api).toMatchObject({
      name: 'TacoService',
      comment: 'TacoService is a service for eating tacos.',
      servedBy: ['tacoserver'],
    });
    expect(api?.methods[0]).toMatchObject({
      wireName: 'TacoService.EatTaco',
      comment: 'EatTaco records that you have eaten some tacos, and tells you how many.',
      example: { name: 'Sammy Sosa', tacos: ['Chicken', 'Chorizo'] },
      request: {
        name: 'EatTacoRequest',
        fields: [
          { name: 'name', comment: 'Name is your name.', typeName: 'string', optional: false },
          { name: 'tacos', comment: 'All of the Tacos you have consumed 🌮', typeName: 'string[]', optional: false },
        ],
        schema: { type: 'object', required: ['name', 'tacos'], properties: { name: { type: 'string', minLength: 1 } } },
      },
    });
  });

  it('calls a method on the service that serves it, and shows the answer with its status and timing', async () => {
    const call = (body: string) =>
      json<CallResult>(`${running().url}/api/call`, {
        method: 'POST',
        body: { service: 'tacoserver', method: 'TacoService.EatTaco', body },
      });
    const eaten = await call('{"name":"Sammy Sosa","tacos":["Chicken","Chorizo"]}');
    expect(eaten.status).toBe(200);
    expect(eaten.body).toMatchObject({
      status: 200,
      body: { tacoConsumptionStatus: 'Sammy Sosa has consumed 2 tacos' },
    });
    expect(eaten.body.duration).toBeGreaterThan(0);

    // A request the schema refuses is still sent, and the service's own verdict comes back with its details.
    expect((await call('{"name":"","tacos":["Chicken"]}')).body).toMatchObject({
      status: 400,
      body: { code: 'invalid_argument', details: [{ path: 'name', message: 'EatTacoRequest.Name is required' }] },
    });
    expect((await call('{"name":"Ana","tacos":[oops]}')).body).toMatchObject({
      status: 400,
      body: { code: 'malformed', error: 'the request body is not valid JSON' },
    });
  });

  it('refuses a call to a service that does not serve the method, naming what it serves', async () => {
    const { status, body } = await json(`${running().url}/api/call`, {
      method: 'POST',
      body: { service: 'tacoclient', method: 'TacoService.EatTaco', body: '{}' },
    });
    expect(status).toBe(400);
    expect(body).toEqual({ error: 'tacoclient does not serve TacoService; its service.json serves no API' });
  });

  it('refuses to call as a service under pnpm dev, where there is no identity to call with', async () => {
    const { status, body } = await json(`${running().url}/api/call`, {
      method: 'POST',
      body: { service: 'tacoserver', method: 'TacoService.EatTaco', body: '{}', as: 'tacoclient' },
    });
    expect(status).toBe(400);
    expect(body).toEqual({ error: '"as" may be given only under pnpm dev:cloud' });
  });

  it.each(['TacoService./../../healthz', 'TacoService.EatTaco/../../../healthz', 'TacoService.EatBurrito'])(
    'refuses %s, which is no method of the definitions, before any call',
    async (method) => {
      const { status, body } = await json(`${running().url}/api/call`, {
        method: 'POST',
        body: { service: 'tacoserver', method, body: '{}' },
      });
      expect(status).toBe(400);
      expect(body).toEqual({
        error: `TacoService has no method ${JSON.stringify(method.slice('TacoService.'.length))}`,
      });
    },
  );

  it('starts each event stream with the services as they are, so a page misses no change made before it connected', async () => {
    const events = await request(`${running().url}/api/events`);
    let seen = '';
    for await (const chunk of events.body) {
      seen += chunk.toString();
      if (/event: services\ndata: .*\n\n/.test(seen)) break;
    }
    events.body.destroy();
    const [, data = ''] = /^: connected\n\nevent: services\ndata: (.*)\n\n/.exec(seen) ?? [];
    const { body: overview } = await json<Overview>(`${running().url}/api/overview`);
    expect(JSON.parse(data)).toEqual(overview.services);
  });

  it('gathers a request into one trace, live: spans from both services and the lines each logged', async () => {
    const events = await request(`${running().url}/api/events`);
    expect(events.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const userAgent = `console-${Date.now()}`;
    const page = await request(tacoclient.origin, { headers: { 'user-agent': userAgent } });
    expect(await page.body.text()).toBe('Sammy Sosa has consumed 2 tacos');

    const trace = await eventually(async () => {
      const { body } = await json<TraceRecord[]>(`${running().url}/api/traces`);
      return body.find(
        (candidate) =>
          candidate.spans.some((span) => span.attributes['user_agent.original'] === userAgent) &&
          candidate.spans.length === 3 &&
          candidate.logs.length >= 2,
      );
    }, 'the trace of GET /');
    expect(trace.spans.map((span) => `${span.service} ${span.kind} ${span.name}`).sort()).toEqual([
      'tacoclient client TacoService.EatTaco',
      'tacoclient server GET /',
      'tacoserver server TacoService.EatTaco',
    ]);
    expect(new Set(trace.logs.map((log) => log.service))).toEqual(new Set(['tacoclient', 'tacoserver']));
    // Each line under the span it was written in.
    const spanIds = new Set(trace.spans.map((span) => span.spanId));
    expect(trace.logs.every((log) => log.spanId !== undefined && spanIds.has(log.spanId))).toBe(true);

    // The event stream carried it as it arrived.
    let seen = '';
    for await (const chunk of events.body) {
      seen += chunk.toString();
      if (seen.includes(trace.traceId)) break;
    }
    expect(seen).toContain(`event: trace\ndata: {"traceId":"${trace.traceId}`);
  });

  it('answers only by its loopback names, so a rebound DNS name cannot reach it', async () => {
    const url = new URL(running().url);
    const refused = await request(`http://127.0.0.1:${url.port}/api/overview`, {
      headers: { host: 'tacos.example:80' },
    });
    expect(refused.statusCode).toBe(403);
    expect(await refused.body.json()).toEqual({
      error: 'the dev console answers only as localhost, 127.0.0.1 or [::1]',
    });
    const allowed = await request(`http://127.0.0.1:${url.port}/api/overview`);
    expect(allowed.statusCode).toBe(200);
    await allowed.body.dump();
  });

  it('says how to make the API model when there is none yet', async () => {
    const bare = await startDevConsole({
      project: loadProject(fixtureProject),
      modelFile: 'packages/generated/not-yet.json',
      port: 0,
      pageDir: `${root}tools/dev-console/dist/page`,
      runner: 'the test',
    });
    try {
      expect(await json(`${bare.url}/api/apis`)).toEqual({
        status: 404,
        body: { error: 'there is no packages/generated/not-yet.json yet; run `pnpm generate`' },
      });
    } finally {
      await bare.close();
    }
  });

  it('shows a service that stops answering as unhealthy', async () => {
    expect(await tacoclient.stop()).toBe(0);
    const overview = await eventually(async () => {
      const { body } = await json<Overview>(`${running().url}/api/overview`);
      return body.services.find((service) => service.name === 'tacoclient' && service.health === 'unhealthy');
    }, 'tacoclient unhealthy');
    expect(overview.healthDetail).toBe('ECONNREFUSED');
  });
});
