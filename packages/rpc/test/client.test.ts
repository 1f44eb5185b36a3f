import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '@taco-run/project/testing';
import Fastify, { type FastifyInstance } from 'fastify';
import { Agent, type Dispatcher } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RpcClient, RpcError } from '../src/client/index.js';
import type { BaseClientOptions, CallOptions, MethodOptions } from '../src/protocol/index.js';
import { listenOnLoopback } from '../src/testing.js';
import {
  recordSpansWith,
  runInTrace,
  type SpanAttributes,
  type SpanOutcome,
  type SpanRecorder,
  type TraceContext,
} from '../src/trace/index.js';
import { WebRpcClient } from '../src/web/index.js';

// The client against servers that are not ours: oto's Go server, proxies, and hops that fail.

let app: FastifyInstance;
let origin: string;
const hits = new Map<string, number>();

function hit(name: string): number {
  const count = (hits.get(name) ?? 0) + 1;
  hits.set(name, count);
  return count;
}

beforeAll(async () => {
  app = Fastify();
  app.post('/oto/Echo.Headers', async (request) => ({ headers: request.headers }));
  app.post('/oto/Echo.Body', async (request) => ({ body: request.body }));
  // oto's Go server (otohttp) answers every handler error with 500 and only {"error": "..."}.
  app.post('/oto/Go.Fail', async (_request, reply) => reply.code(500).send({ error: 'tacos are sold out' }));
  // ...and an unknown route with Go's plain-text 404.
  app.post('/oto/Go.Missing', async (_request, reply) =>
    reply.code(404).type('text/plain').send('404 page not found\n'),
  );
  app.post('/oto/Proxy.BadGateway', async (_request, reply) =>
    reply.code(502).type('text/html').send('<html><body><h1>502 Bad Gateway</h1></body></html>'),
  );
  for (const status of [401, 403, 429, 418]) {
    app.post(`/oto/Proxy.Status${status}`, async (_request, reply) =>
      reply.code(status).type('text/plain').send(`status ${status}`),
    );
  }
  app.post('/oto/Flaky.Busy', async (_request, reply) => {
    const count = hit('busy');
    if (count < 3) return reply.code(503).header('retry-after', '0').type('text/plain').send('busy');
    return { attempt: count };
  });
  app.post('/oto/Always.Busy', async (_request, reply) => {
    hit('always');
    return reply.code(503).header('retry-after', '120').send({ error: 'overloaded', code: 'unavailable' });
  });
  app.post('/oto/Slow.Never', async () => new Promise(() => {}));
  app.post('/oto/Odd.NotJson', async (_request, reply) => reply.type('text/html').send('<html>hello</html>'));
  app.post('/oto/Huge.Error', async (_request, reply) =>
    reply
      .code(500)
      .type('text/plain')
      .send('x'.repeat(1024 * 1024)),
  );
  origin = await listenOnLoopback(app);
});

afterAll(() => app.close());
afterEach(() => hits.clear());

const client = (options: ConstructorParameters<typeof RpcClient>[1] = {}) =>
  new RpcClient(`${origin}/oto/`, { retry: { initialDelay: 1 }, ...options });

/** What both clients have: the protocol is theirs in common, only the transport differs. */
interface Caller {
  call<Response>(
    method: string,
    request: unknown,
    options?: CallOptions,
    methodOptions?: MethodOptions,
  ): Promise<Response>;
}
type MakeCaller = (baseUrl: string | URL, options?: BaseClientOptions) => Caller;

const clients: [string, MakeCaller][] = [
  ['the Node client (undici)', (baseUrl, options) => new RpcClient(baseUrl, options)],
  ['the web client (fetch)', (baseUrl, options) => new WebRpcClient(baseUrl, options)],
];

async function failure(promise: Promise<unknown>): Promise<RpcError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(RpcError);
  return error as RpcError;
}

describe.each(clients)('%s', (_name, make) => {
  const client = (options: BaseClientOptions = {}) =>
    make(`${origin}/oto/`, { retry: { initialDelay: 1 }, ...options });

  describe('requests', () => {
    it('posts the request as JSON to {base}{Service}.{Method}', async () => {
      const response = await client().call<{ body: unknown }>('Echo.Body', { name: 'Sammy', tacos: ['Chicken'] });
      expect(response).toEqual({ body: { name: 'Sammy', tacos: ['Chicken'] } });
    });

    it('accepts a base URL without the trailing slash', async () => {
      const response = await make(`${origin}/oto`).call<{ body: unknown }>('Echo.Body', { a: 1 });
      expect(response).toEqual({ body: { a: 1 } });
    });

    it('refuses a base URL that is not http or https', () => {
      expect(() => make('ftp://tacoserver/oto/')).toThrow(
        'RPC base URL must be http: or https:, got ftp://tacoserver/oto/',
      );
    });

    it('sends static, computed and per-call headers, the later ones winning', async () => {
      const staticHeaders = client({ headers: { 'X-Team': 'tacos', 'x-shared': 'client' } });
      const fromStatic = await staticHeaders.call<{ headers: Record<string, string> }>(
        'Echo.Headers',
        {},
        { headers: { 'X-Shared': 'call' } },
      );
      expect(fromStatic.headers).toMatchObject({
        'x-team': 'tacos',
        'x-shared': 'call',
        'content-type': 'application/json',
      });

      let calls = 0;
      const computed = client({ headers: async () => ({ 'x-call-number': String(++calls) }) });
      await computed.call('Echo.Headers', {});
      const second = await computed.call<{ headers: Record<string, string> }>('Echo.Headers', {});
      expect(second.headers['x-call-number']).toBe('2');
    });

    it('rejects, never throws, when the request cannot be sent as JSON or the headers function throws', async () => {
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      const calling = client().call('Echo.Body', cyclic);
      await expect(calling).rejects.toThrow(TypeError);
      const failing = client({
        headers: () => {
          throw new Error('no token today');
        },
      }).call('Echo.Body', {});
      await expect(failing).rejects.toThrow('no token today');
    });

    it('reports each request and response to the debug hook', async () => {
      const lines: string[] = [];
      await client({ debug: (line) => lines.push(line) }).call('Echo.Body', { a: 1 });
      expect(lines[0]).toBe(`POST ${origin}/oto/Echo.Body {"a":1}`);
      expect(lines[1]).toMatch(/^200 in \d+ ms \{"body":\{"a":1\}\}$/);
    });
  });

  describe('responses that are not ours', () => {
    it("reads an oto Go server's {error} body: the message is kept and the status gives the code", async () => {
      const error = await failure(client().call('Go.Fail', {}));
      expect(error).toMatchObject({ code: 'unknown', status: 500, message: 'tacos are sold out' });
    });

    it("maps Go's plain-text 404 to not_found", async () => {
      const error = await failure(client().call('Go.Missing', {}));
      expect(error).toMatchObject({ code: 'not_found', status: 404, body: '404 page not found\n' });
      expect(error.message).toBe(
        `${origin}/oto/Go.Missing answered 404 Not Found, not an RPC response: 404 page not found`,
      );
    });

    it("maps a proxy's HTML 502 to unavailable and keeps the first bytes", async () => {
      const error = await failure(client({ retry: false }).call('Proxy.BadGateway', {}));
      expect(error.code).toBe('unavailable');
      expect(error.status).toBe(502);
      expect(error.message).toBe(`${origin}/oto/Proxy.BadGateway answered 502 Bad Gateway, not an RPC response`);
      expect(error.body).toBe('<html><body><h1>502 Bad Gateway</h1></body></html>');
    });

    it.each([
      [401, 'unauthenticated'],
      [403, 'permission_denied'],
      [429, 'resource_exhausted'],
      [418, 'unknown'],
    ])('maps a bare %i to %s', async (status, code) => {
      const error = await failure(client().call(`Proxy.Status${status}`, {}));
      expect(error).toMatchObject({ code, status, body: `status ${status}` });
    });

    it('rejects a 200 whose body is not JSON with unknown', async () => {
      const error = await failure(client().call('Odd.NotJson', {}));
      expect(error).toMatchObject({ code: 'unknown', status: 200, body: '<html>hello</html>' });
    });

    it('keeps only the first bytes of a huge error body', async () => {
      const error = await failure(client().call('Huge.Error', {}));
      expect(error.code).toBe('unknown');
      expect(error.body).toHaveLength(512);
    });
  });

  describe('deadlines and cancellation', () => {
    it('throws deadline_exceeded when the server does not answer in time', async () => {
      const started = Date.now();
      const error = await failure(client({ timeout: 150 }).call('Slow.Never', {}));
      expect(error).toMatchObject({ code: 'deadline_exceeded', message: 'no answer within 150 ms' });
      expect(Date.now() - started).toBeLessThan(2000);
    });

    it('lets a call override the client timeout', async () => {
      const error = await failure(client({ timeout: 60_000 }).call('Slow.Never', {}, { timeout: 50 }));
      expect(error.code).toBe('deadline_exceeded');
    });

    it('throws canceled when the caller aborts', async () => {
      const controller = new AbortController();
      const call = client().call('Slow.Never', {}, { signal: controller.signal });
      setTimeout(() => controller.abort(new Error('user left')), 20);
      const error = await failure(call);
      expect(error.code).toBe('canceled');
      expect((error.cause as Error).message).toBe('user left');
    });

    it('throws canceled at once for a signal that is already aborted', async () => {
      const error = await failure(client().call('Echo.Body', {}, { signal: AbortSignal.abort() }));
      expect(error.code).toBe('canceled');
    });
  });

  describe('retries', () => {
    it('retries an idempotent method on 503 until it succeeds', async () => {
      const response = await client().call('Flaky.Busy', {}, {}, { idempotent: true });
      expect(response).toEqual({ attempt: 3 });
    });

    it('never retries a method that is not idempotent after it reached the server', async () => {
      const error = await failure(client().call('Flaky.Busy', {}));
      expect(error.code).toBe('unavailable');
      expect(hits.get('busy')).toBe(1);
    });

    it('gives up after maxAttempts and caps Retry-After at maxDelay', async () => {
      const started = Date.now();
      const error = await failure(
        client({ retry: { maxAttempts: 2, maxDelay: 10 } }).call('Always.Busy', {}, {}, { idempotent: true }),
      );
      expect(error).toMatchObject({ code: 'unavailable', message: 'overloaded', retryAfter: 120_000 });
      expect(hits.get('always')).toBe(2);
      expect(Date.now() - started).toBeLessThan(2000);
    });

    it('gives up at once when the next wait would pass the deadline', async () => {
      const started = Date.now();
      // Retry-After 120 s, capped at maxDelay 5 s, is still past the 300 ms deadline.
      const error = await failure(
        client({ timeout: 300, retry: { maxAttempts: 10, maxDelay: 5000 } }).call(
          'Always.Busy',
          {},
          {},
          { idempotent: true },
        ),
      );
      expect(error).toMatchObject({ code: 'unavailable', message: 'overloaded' });
      expect(hits.get('always')).toBe(1);
      expect(Date.now() - started).toBeLessThan(300);
    });

    describe('against a server that resets the connection mid-response', () => {
      let server: Server;
      let resetOrigin: string;
      let requests = 0;

      beforeAll(async () => {
        server = createServer((request, response) => {
          requests++;
          request.resume();
          request.on('end', () => {
            if (requests % 2 === 1) {
              // Half an answer, then the connection dies: the handler may have run.
              response.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
              response.write('{"partial":');
              setTimeout(() => response.socket?.destroy(), 5);
            } else {
              response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
            }
          });
        });
        server.listen(0, '127.0.0.1');
        await once(server, 'listening');
        resetOrigin = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oto/`;
      });

      afterAll(() => {
        server.closeAllConnections();
        server.close();
      });

      it('retries an idempotent method', async () => {
        requests = 0;
        const response = await make(resetOrigin, { retry: { initialDelay: 1 } }).call(
          'Reset.Once',
          {},
          {},
          { idempotent: true },
        );
        expect(response).toEqual({ ok: true });
        expect(requests).toBe(2);
      });

      it('does not retry other methods, and says the upstream is unavailable', async () => {
        requests = 0;
        const error = await failure(make(resetOrigin, { retry: { initialDelay: 1 } }).call('Reset.Once', {}));
        expect(error.code).toBe('unavailable');
        expect(requests).toBe(1);
      });
    });
  });
});

describe('the Node client', () => {
  it("carries the trace it runs in on as a child span, and leaves a caller's own traceparent alone", async () => {
    type Echoed = { headers: Record<string, string | undefined> };
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const outside = await client().call<Echoed>('Echo.Headers', {});
    expect(outside.headers.traceparent).toBeUndefined();
    const [first, second] = await runInTrace({ traceId, spanId: '00f067aa0ba902b7', sampled: true }, () =>
      Promise.all([client().call<Echoed>('Echo.Headers', {}), client().call<Echoed>('Echo.Headers', {})]),
    );
    const child = new RegExp(`^00-${traceId}-([\\da-f]{16})-01$`);
    expect(first.headers.traceparent).toMatch(child);
    expect(second.headers.traceparent).toMatch(child);
    // Each call is a span of its own, and none is the request's.
    const spans = [first, second].map((echoed) => child.exec(echoed.headers.traceparent ?? '')?.[1]);
    expect(new Set([...spans, '00f067aa0ba902b7']).size).toBe(3);
    const unsampled = await runInTrace({ traceId, spanId: '00f067aa0ba902b7', sampled: false }, () =>
      client().call<Echoed>('Echo.Headers', {}),
    );
    expect(unsampled.headers.traceparent).toMatch(new RegExp(`^00-${traceId}-[\\da-f]{16}-00$`));
    const own = `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`;
    const kept = await runInTrace({ traceId, sampled: true }, () =>
      client().call<Echoed>('Echo.Headers', {}, { headers: { traceparent: own } }),
    );
    expect(kept.headers.traceparent).toBe(own);
  });

  it('sends every call through a custom dispatcher when one is given', async () => {
    const seen: string[] = [];
    const dispatcher = new Agent().compose((dispatch) => (options, handler) => {
      seen.push(`${options.method} ${options.path}`);
      return dispatch(options, handler);
    });
    await client({ dispatcher }).call('Echo.Body', {});
    expect(seen).toEqual(['POST /oto/Echo.Body']);
    await (dispatcher as Dispatcher).close();
  });

  it('retries a refused connection for any method, since nothing was sent', async () => {
    const closed = await freePort();
    const lines: string[] = [];
    const refused = new RpcClient(`http://127.0.0.1:${closed}/oto/`, {
      retry: { initialDelay: 1 },
      debug: (line) => lines.push(line),
    });
    const error = await failure(refused.call('Any.Method', {}));
    expect(error.code).toBe('unavailable');
    expect(error.message).toContain('ECONNREFUSED');
    expect(lines.filter((line) => line.startsWith('retrying Any.Method'))).toHaveLength(2);
  });
});

describe('the web client', () => {
  it('retries a refused connection only for an idempotent method: fetch cannot tell it from a failure after sending', async () => {
    const closed = await freePort();
    const lines: string[] = [];
    const refused = new WebRpcClient(`http://127.0.0.1:${closed}/oto/`, {
      retry: { initialDelay: 1 },
      debug: (line) => lines.push(line),
    });
    const error = await failure(refused.call('Any.Method', {}));
    expect(error.code).toBe('unavailable');
    expect(error.message).toBe(
      `cannot reach http://127.0.0.1:${closed}: fetch failed: connect ECONNREFUSED 127.0.0.1:${closed}`,
    );
    expect(lines.filter((line) => line.startsWith('retrying'))).toHaveLength(0);
    await failure(refused.call('Any.Method', {}, {}, { idempotent: true }));
    expect(lines.filter((line) => line.startsWith('retrying Any.Method'))).toHaveLength(2);
  });

  it('calls through the fetch it is given', async () => {
    const seen: string[] = [];
    const own: typeof fetch = (input, init) => {
      seen.push(`${init?.method} ${String(input)}`);
      return fetch(input, init);
    };
    await new WebRpcClient(`${origin}/oto/`, { fetch: own }).call('Echo.Body', {});
    expect(seen).toEqual([`POST ${origin}/oto/Echo.Body`]);
  });
});

describe('spans', () => {
  /** A recorder of the kind the service kit installs, keeping what each call told it. */
  function recording() {
    const started: {
      name: string;
      parent: TraceContext | undefined;
      attributes: SpanAttributes;
      outcome?: SpanOutcome;
    }[] = [];
    const recorder: SpanRecorder = {
      startServer: () => {
        throw new Error('the client starts no server span');
      },
      startClient: (name, parent, attributes) => {
        const entry: (typeof started)[number] = { name, parent, attributes: attributes() };
        started.push(entry);
        const spanId = String(started.length).padStart(16, 'a');
        return {
          trace: { traceId: parent?.traceId ?? 'c'.repeat(32), spanId, sampled: true },
          end: (outcome) => {
            entry.outcome = { ...outcome };
          },
        };
      },
    };
    return { started, recorder };
  }

  afterEach(() => recordSpansWith(undefined));

  it('gives each call a span under the trace it runs in, and names that span in traceparent', async () => {
    const { started, recorder } = recording();
    recordSpansWith(recorder);
    const parent = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', sampled: true };
    const echoed = await runInTrace(parent, () =>
      client().call<{ headers: Record<string, string> }>('Echo.Headers', {}),
    );
    expect(echoed.headers.traceparent).toBe(`00-${parent.traceId}-${'1'.padStart(16, 'a')}-01`);
    const port = Number(new URL(origin).port);
    expect(started).toEqual([
      {
        name: 'Echo.Headers',
        parent,
        attributes: {
          'rpc.system.name': 'oto',
          'rpc.method': 'Echo.Headers',
          'http.request.method': 'POST',
          'url.full': `${origin}/oto/Echo.Headers`,
          'server.address': '127.0.0.1',
          'server.port': port,
        },
        outcome: { retries: 0, status: 200 },
      },
    ]);
  });

  it("ends a retried call's span with the retries and the last status, and a failed one with its code", async () => {
    const { started, recorder } = recording();
    recordSpansWith(recorder);
    await client().call('Flaky.Busy', {}, {}, { idempotent: true });
    await failure(client().call('Go.Fail', {}));
    expect(started.map((span) => span.outcome)).toEqual([
      { retries: 2, status: 200 },
      { retries: 0, status: 500, code: 'unknown' },
    ]);
  });

  it('makes no span for a call whose caller set traceparent itself', async () => {
    const { started, recorder } = recording();
    recordSpansWith(recorder);
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const echoed = await client().call<{ headers: Record<string, string> }>(
      'Echo.Headers',
      {},
      { headers: { traceparent } },
    );
    expect(echoed.headers.traceparent).toBe(traceparent);
    expect(started).toEqual([]);
  });
});
