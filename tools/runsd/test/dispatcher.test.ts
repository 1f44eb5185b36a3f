import { once } from 'node:events';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { decodeBearer, type MetadataServer, startMetadataServer } from '@taco-run/cloud-emulator';
import { listenOnLoopback } from '@taco-run/rpc/testing';
import Fastify, { type FastifyInstance } from 'fastify';
import { Agent, interceptors, request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RunsdDispatcher } from '../src/dispatcher.js';
import { type RunningProxy, startProxy } from '../src/proxy.js';
import type { ResolveContext } from '../src/resolve.js';
import { Router, type RouterOptions } from '../src/router.js';
import { TokenCache } from '../src/token-cache.js';
import { metadataTokens } from '../src/token-sources.js';
import { overloaded } from './overloaded.js';

// The preload's dispatcher and the proxy, in this process, against a real metadata emulator
// (through gcp-metadata and GCE_METADATA_HOST) and a loopback server standing in for Cloud Run.

let metadata: MetadataServer;
let frontDoor: FastifyInstance;
let frontDoorOrigin: string;
let thirdParty: FastifyInstance;
let thirdPartyOrigin: string;
const seen: { host?: string; authorization?: string; serverless?: string; agent?: string; url: string }[] = [];
const savedHost = process.env.GCE_METADATA_HOST;

function recorder(app: FastifyInstance) {
  app.all('/*', async (req, reply) => {
    if (overloaded(req.url)) reply.code(503);
    seen.push({
      host: req.headers.host,
      authorization: req.headers.authorization,
      serverless: req.headers['x-serverless-authorization'] as string | undefined,
      agent: req.headers['user-agent'],
      url: req.url,
    });
    return { ok: true, body: req.body ?? null };
  });
}

const cloud: ResolveContext = {
  mode: 'cloud',
  region: 'us-central1',
  projectNumber: '123456789012',
  projectHash: 'abc123',
};

function router(options: { retryFor?: number; context?: RouterOptions['context'] } = {}) {
  return new Router({
    context: options.context ?? cloud,
    tokens: new TokenCache({ source: metadataTokens, retryFor: options.retryFor ?? 5_000, initialDelay: 10 }),
    tokenSource: 'metadata',
    targetOverride: frontDoorOrigin,
    log: (severity, message) => void logged.push(`${severity} ${message}`),
  });
}

/** What the routers said, kept here rather than printed among the test results. */
const logged: string[] = [];

beforeAll(async () => {
  metadata = await startMetadataServer();
  process.env.GCE_METADATA_HOST = metadata.host;
  frontDoor = Fastify();
  recorder(frontDoor);
  frontDoorOrigin = await listenOnLoopback(frontDoor);
  thirdParty = Fastify();
  recorder(thirdParty);
  thirdPartyOrigin = await listenOnLoopback(thirdParty);
});

afterAll(async () => {
  process.env.GCE_METADATA_HOST = savedHost;
  if (savedHost === undefined) delete process.env.GCE_METADATA_HOST;
  await Promise.all([metadata.close(), frontDoor.close(), thirdParty.close()]);
});

beforeEach(() => {
  seen.length = 0;
  metadata.identityRequests.clear();
  metadata.setFault(undefined);
});

const target = 'https://tacoserver-abc123-uc.a.run.app';

describe('the in-process dispatcher', () => {
  it('sends http://tacoserver/ to its Cloud Run target with a token whose audience is that origin', async () => {
    const dispatcher = new RunsdDispatcher(router(), new Agent()).asDispatcher();
    const response = await request('http://tacoserver/oto/TacoService.EatTaco?x=1', {
      dispatcher,
      headers: { 'user-agent': 'app/1.0' },
    });
    expect(response.statusCode).toBe(200);
    await response.body.dump();
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      host: 'tacoserver-abc123-uc.a.run.app',
      url: '/oto/TacoService.EatTaco?x=1',
      agent: 'runsd version=0.1.0; app/1.0',
    });
    expect(decodeBearer(seen[0]?.authorization).payload).toMatchObject({
      aud: target,
      iss: 'https://accounts.google.com',
      email: metadata.options.serviceAccountEmail,
    });
    await dispatcher.close();
  });

  it('puts the token in X-Serverless-Authorization when the app sent its own Authorization', async () => {
    const dispatcher = new RunsdDispatcher(router(), new Agent()).asDispatcher();
    await (
      await request('http://tacoserver/', { dispatcher, headers: { authorization: 'Bearer app-token' } })
    ).body.dump();
    expect(seen[0]?.authorization).toBe('Bearer app-token');
    expect(decodeBearer(seen[0]?.serverless).payload.aud).toBe(target);
    await dispatcher.close();
  });

  it('sends the new token, not a remembered header, once the old one is near expiry', async () => {
    let clock = 0;
    const issued: string[] = [];
    const tokens = new TokenCache({
      // Not JWTs, so each is trusted for an hour from the clock: the test moves it past that.
      source: async () => {
        const token = `token-${issued.length + 1}`;
        issued.push(token);
        return token;
      },
      now: () => clock,
    });
    const context = {
      mode: 'cloud',
      region: 'us-central1',
      projectNumber: '123456789012',
      projectHash: 'abc123',
    } as const;
    const dispatcher = new RunsdDispatcher(
      new Router({
        context,
        tokens,
        tokenSource: 'metadata',
        targetOverride: frontDoorOrigin,
        log: (severity, message) => void logged.push(`${severity} ${message}`),
      }),
      new Agent(),
    ).asDispatcher();
    await (await request('http://tacoserver/', { dispatcher })).body.dump();
    await (await request('http://tacoserver/', { dispatcher })).body.dump();
    clock = 56 * 60_000;
    await (await request('http://tacoserver/', { dispatcher })).body.dump();
    expect(seen.map((s) => s.authorization)).toEqual(['Bearer token-1', 'Bearer token-1', 'Bearer token-2']);
    await dispatcher.close();
  });

  it('leaves other hosts untouched: no token, no header changes', async () => {
    const dispatcher = new RunsdDispatcher(router(), new Agent()).asDispatcher();
    await (await request(`${thirdPartyOrigin}/x`, { dispatcher, headers: { 'user-agent': 'app/1.0' } })).body.dump();
    expect(seen).toEqual([
      {
        host: new URL(thirdPartyOrigin).host,
        authorization: undefined,
        serverless: undefined,
        agent: 'app/1.0',
        url: '/x',
      },
    ]);
    expect(metadata.identityRequests.size).toBe(0);
    await dispatcher.close();
  });

  it('costs one metadata request for 200 concurrent first calls', async () => {
    const dispatcher = new RunsdDispatcher(router(), new Agent({ connections: 50 })).asDispatcher();
    const statuses = await Promise.all(
      Array.from({ length: 200 }, async () => {
        const response = await request('http://tacoserver/burst', { dispatcher });
        await response.body.dump();
        return response.statusCode;
      }),
    );
    expect(statuses.every((status) => status === 200)).toBe(true);
    expect(metadata.identityRequests.get(target)).toBe(1);
    await dispatcher.close();
  });

  it('answers an unresolvable name with a 502 that says why', async () => {
    const dispatcher = new RunsdDispatcher(router(), new Agent()).asDispatcher();
    const response = await request('http://tacoserver.mars-west1.run.internal/', { dispatcher });
    expect(response.statusCode).toBe(502);
    expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(await response.body.text()).toBe(
      'runsd: cannot resolve "tacoserver.mars-west1.run.internal": unknown region "mars-west1" in "tacoserver.mars-west1.run.internal"\n',
    );
    await dispatcher.close();
  });

  it('answers 503 when no token can be had, and recovers when the metadata server does', async () => {
    const dispatcher = new RunsdDispatcher(router({ retryFor: 150 }), new Agent()).asDispatcher();
    metadata.setFault({ kind: 'error', requests: 1000 });
    const failed = await request('http://tacoserver/', { dispatcher });
    expect(failed.statusCode).toBe(503);
    expect(await failed.body.text()).toMatch(
      /^runsd: could not fetch an identity token for https:\/\/tacoserver-abc123-uc\.a\.run\.app \(\d+ attempts in 0\.15 s\): /,
    );
    expect(seen).toHaveLength(0);
    metadata.setFault(undefined);
    const recovered = await request('http://tacoserver/', { dispatcher });
    expect(recovered.statusCode).toBe(200);
    await recovered.body.dump();
    await dispatcher.close();
  });

  it('waits for a context still on its way only for short names, and asks again after a failed answer', async () => {
    const asked: string[] = [];
    const answers = [() => Promise.reject(new Error('the metadata server said no')), () => Promise.resolve(cloud)];
    const context = () => {
      asked.push('context');
      return (answers.shift() ?? (() => Promise.reject(new Error('asked too often'))))();
    };
    const dispatcher = new RunsdDispatcher(router({ context }), new Agent()).asDispatcher();
    const passing = await request(`${thirdPartyOrigin}/passing`, { dispatcher });
    expect(passing.statusCode).toBe(200);
    await passing.body.dump();
    expect(asked).toEqual([]);
    const failed = await request('http://tacoserver/', { dispatcher });
    expect(failed.statusCode).toBe(503);
    expect(await failed.body.text()).toBe('runsd: cannot route "tacoserver": the metadata server said no\n');
    const routed = await request('http://tacoserver/routed', { dispatcher });
    expect(routed.statusCode).toBe(200);
    await routed.body.dump();
    expect(asked).toEqual(['context', 'context']);
    expect(seen.map(({ host, url }) => ({ host, url }))).toEqual([
      { host: new URL(thirdPartyOrigin).host, url: '/passing' },
      { host: 'tacoserver-abc123-uc.a.run.app', url: '/routed' },
    ]);
    await dispatcher.close();
  });

  it("composes with undici's retry interceptor, routing and a token under every attempt, before undici has loaded", async () => {
    // As the preload builds it: the inner Agent comes with the first request.
    const runsd = new RunsdDispatcher(router(), async () => new Agent());
    const dispatcher = runsd
      .compose(interceptors.retry({ minTimeout: 5, maxRetries: 3, statusCodes: [503] }))
      .asDispatcher();
    const response = await request('http://tacoserver/flaky-1', { dispatcher });
    expect(response.statusCode).toBe(200);
    await response.body.dump();
    expect(seen.map((s) => [s.host, s.url])).toEqual(
      Array.from({ length: 3 }, () => ['tacoserver-abc123-uc.a.run.app', '/flaky-1']),
    );
    expect(seen.every((s) => decodeBearer(s.authorization).payload.aud === target)).toBe(true);
    // Built once undici is in: the next composition is layered at once, and still routes.
    const twice = runsd
      .compose(interceptors.retry({ minTimeout: 5, statusCodes: [503] }))
      .compose([])
      .asDispatcher();
    expect((await request('http://tacoserver/flaky-2', { dispatcher: twice })).statusCode).toBe(200);
    expect(seen.at(-1)).toMatchObject({ host: 'tacoserver-abc123-uc.a.run.app', url: '/flaky-2' });
    await dispatcher.close();
  });

  it('refuses an interceptor that is not a function when composed, as undici does', () => {
    const runsd = new RunsdDispatcher(router(), new Agent());
    expect(() => runsd.compose('retry' as never)).toThrow(
      new TypeError('invalid interceptor, expected function received string'),
    );
    void runsd.close();
  });

  it('covers Node fetch too, once installed as the global dispatcher', async () => {
    const { getGlobalDispatcher, setGlobalDispatcher } = await import('undici');
    const previous = getGlobalDispatcher();
    const dispatcher = new RunsdDispatcher(router(), new Agent()).asDispatcher();
    setGlobalDispatcher(dispatcher);
    try {
      const response = await fetch('http://tacoserver/from-fetch', {
        method: 'POST',
        body: '{"a":1}',
        headers: { 'content-type': 'application/json' },
      });
      expect(await response.json()).toEqual({ ok: true, body: { a: 1 } });
      const failed = await fetch('http://tacoserver.mars-west1.run.internal/');
      expect(failed.status).toBe(502);
    } finally {
      setGlobalDispatcher(previous);
      await dispatcher.close();
    }
    expect(seen[0]).toMatchObject({ host: 'tacoserver-abc123-uc.a.run.app', url: '/from-fetch' });
  });
});

describe('the proxy', () => {
  let proxy: RunningProxy;
  beforeAll(async () => {
    proxy = await startProxy(router());
  });
  afterAll(() => proxy.close());

  /** A request in absolute form, as HTTP_PROXY clients (curl, Python, Go) send it. */
  const viaProxy = (url: string, options: { method?: string; body?: string; headers?: Record<string, string> } = {}) =>
    new Promise<{ statusCode: number; text: string }>((resolve, reject) => {
      const { port } = new URL(proxy.url);
      const outgoing = httpRequest(
        { host: '127.0.0.1', port, path: url, method: options.method ?? 'GET', headers: options.headers },
        (response) => {
          let text = '';
          response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
          response.on('end', () => resolve({ statusCode: response.statusCode ?? 0, text }));
        },
      );
      outgoing.on('error', reject);
      outgoing.end(options.body);
    });

  it('routes an absolute-form request for a short name like the dispatcher, streaming the body', async () => {
    const response = await viaProxy('http://tacoserver/upload', {
      method: 'POST',
      body: JSON.stringify({ big: 'x'.repeat(100_000) }),
      headers: { 'content-type': 'application/json' },
    });
    expect(response.statusCode).toBe(200);
    expect((JSON.parse(response.text) as { body: { big: string } }).body.big).toHaveLength(100_000);
    expect(seen[0]?.host).toBe('tacoserver-abc123-uc.a.run.app');
    expect(decodeBearer(seen[0]?.authorization).payload.aud).toBe(target);
  });

  it('forwards other hosts without a token', async () => {
    const response = await viaProxy(`${thirdPartyOrigin}/elsewhere`);
    expect(response.statusCode).toBe(200);
    expect(seen).toEqual([
      {
        host: new URL(thirdPartyOrigin).host,
        authorization: undefined,
        serverless: undefined,
        agent: undefined,
        url: '/elsewhere',
      },
    ]);
  });

  it('refuses CONNECT', async () => {
    const outgoing = httpRequest({
      host: '127.0.0.1',
      port: new URL(proxy.url).port,
      method: 'CONNECT',
      path: 'example.com:443',
    });
    outgoing.end();
    const [response, socket] = (await once(outgoing, 'connect')) as [IncomingMessage, Socket];
    socket.destroy();
    expect(response.statusCode).toBe(405);
  });

  it('refuses requests that are not absolute http:// URLs', async () => {
    const response = await request(`${proxy.url}/direct`);
    expect(response.statusCode).toBe(400);
    expect(await response.body.text()).toBe('runsd proxy: send absolute http:// URLs here (as HTTP_PROXY does)\n');
  });

  it('answers 502 when the upstream cannot be reached', async () => {
    const response = await viaProxy('http://127.0.0.1:1/');
    expect(response.statusCode).toBe(502);
    expect(response.text).toBe('runsd proxy: 127.0.0.1:1 could not be reached: ECONNREFUSED\n');
  });
});
