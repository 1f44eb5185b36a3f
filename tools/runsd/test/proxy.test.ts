import { once } from 'node:events';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { registerRpcServices } from '@taco-run/rpc/server';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditServiceRoutes } from '../../otogen/test/fixtures/inventory/generated/src/server.js';
import { MetadataGuard } from '../src/metadata-guard.js';
import { type RunningProxy, startProxy } from '../src/proxy.js';
import { Router } from '../src/router.js';
import { TokenCache } from '../src/token-cache.js';

// The proxy's defences: every request body framed upstream, whatever the method, so that no bytes
// of one request can reach a shared keep-alive connection as the start of another; an upstream
// request that ends with its client; IPv6 literals; and no relaying to the metadata server.

let upstream: Server;
let upstreamOrigin: string;
let proxy: RunningProxy;
const router = new Router({
  context: { mode: 'local', services: {} },
  tokens: new TokenCache({ source: async () => 'unused' }),
  tokenSource: 'metadata',
});
/** Every request the upstream parsed, in order: method, path and the body it read. */
const parsed: { method: string; path: string; body: string }[] = [];
/** The upstream connections that carried them. */
const connections = new Set<unknown>();

beforeAll(async () => {
  upstream = createServer(async (request: IncomingMessage, response) => {
    connections.add(request.socket);
    let body = '';
    for await (const chunk of request) body += chunk;
    parsed.push({ method: request.method ?? '', path: request.url ?? '', body });
    response.end(`answer to ${request.method} ${request.url}`);
  });
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  upstreamOrigin = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  proxy = await startProxy(router);
});

afterAll(async () => {
  await proxy.close();
  upstream.closeAllConnections();
  upstream.close();
});

/** One client's request through the proxy (by default, to the upstream), on a connection of its own. */
function viaProxy(
  path: string,
  options: { method: string; headers?: Record<string, string>; body?: string[] },
  origin = upstreamOrigin,
  port = proxy.port,
) {
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path: `${origin}${path}`,
        method: options.method,
        headers: options.headers,
        agent: false,
      },
      async (response) => {
        let text = '';
        for await (const chunk of response) text += chunk;
        resolve({ status: response.statusCode ?? 0, text });
      },
    );
    outgoing.on('error', reject);
    for (const part of options.body ?? []) outgoing.write(part);
    outgoing.end();
  });
}

describe("the proxy's framing of request bodies", () => {
  it.each(['GET', 'DELETE', 'OPTIONS'])(
    'forwards a chunked %s body as a body, so the next request on the upstream connection is its own',
    async (method) => {
      parsed.length = 0;
      connections.clear();
      const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: upstream\r\n\r\n';
      const first = await viaProxy('/first', {
        method,
        headers: { 'transfer-encoding': 'chunked' },
        body: [smuggled.slice(0, 10), smuggled.slice(10)],
      });
      const victim = await viaProxy('/oto/TacoService.EatTaco', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: ['{"name":"Victim","tacos":["x"]}'],
      });
      expect(first).toEqual({ status: 200, text: `answer to ${method} /first` });
      expect(victim).toEqual({ status: 200, text: 'answer to POST /oto/TacoService.EatTaco' });
      expect(parsed).toEqual([
        { method, path: '/first', body: smuggled },
        { method: 'POST', path: '/oto/TacoService.EatTaco', body: '{"name":"Victim","tacos":["x"]}' },
      ]);
      // The two requests shared one keep-alive connection upstream: the case that smuggling abuses.
      expect(connections.size).toBe(1);
    },
  );

  it('forwards a Content-Length body of any method with its length', async () => {
    parsed.length = 0;
    const answer = await viaProxy('/delete-me', {
      method: 'DELETE',
      body: ['{"really":true}'],
      headers: { 'content-length': '15' },
    });
    expect(answer.status).toBe(200);
    expect(parsed).toEqual([{ method: 'DELETE', path: '/delete-me', body: '{"really":true}' }]);
  });
});

describe('the hosts the proxy reaches', () => {
  it('reaches an IPv6 literal', async () => {
    const v6 = createServer((_request, response) => response.end('over IPv6'));
    v6.listen(0, '::1');
    await once(v6, 'listening');
    try {
      const { port } = v6.address() as AddressInfo;
      const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        httpRequest(
          { host: '127.0.0.1', port: proxy.port, path: `http://[::1]:${port}/`, agent: false },
          async (response) => {
            let text = '';
            for await (const chunk of response) text += chunk;
            resolve({ status: response.statusCode ?? 0, text });
          },
        )
          .on('error', reject)
          .end();
      });
      expect(answer).toEqual({ status: 200, text: 'over IPv6' });
    } finally {
      v6.close();
    }
  });

  // Every spelling of the well-known server, as the URL parser reads it: names with trailing dots, the
  // address in octal, hex, decimal and IPv4-mapped IPv6 forms.
  it.each([
    'metadata.google.internal',
    'metadata.google.internal.',
    'METADATA.',
    'metadata',
    '169.254.169.254',
    '169.254.169.254.',
    '0251.0376.0251.0376',
    '0xa9fea9fe',
    '2852039166',
    '[::ffff:169.254.169.254]',
    '[::ffff:a9fe:a9fe]',
    '[0:0:0:0:0:ffff:a9fe:a9fe]',
    '169.254.169.254:8080',
  ])('refuses to relay to the metadata server at %s', async (host) => {
    const answer = await viaProxy(`http://${host}/computeMetadata/v1/`, { method: 'GET' }, '');
    expect(answer.status).toBe(403);
    expect(answer.text).toMatch(/^runsd proxy: \S+ is the metadata server; call it directly, not through the proxy\n$/);
  });

  describe.each(['GCE_METADATA_HOST', 'GCE_METADATA_IP'])(
    "with the metadata server that %s names, as the emulator's is",
    (variable) => {
      let refusing: RunningProxy;
      let port: string;
      beforeAll(async () => {
        port = upstreamOrigin.split(':')[2] ?? '';
        refusing = await startProxy(router, 0, { guard: new MetadataGuard({ [variable]: `127.0.0.1:${port}` }) });
      });
      afterAll(() => refusing.close());

      // The same loopback server by any other name or address: what the connection would reach decides.
      it.each([
        '127.0.0.1',
        'localhost',
        '127.1',
        '127.0.0.2',
        '[::ffff:127.0.0.1]',
        '[::ffff:7f00:1]',
        '0.0.0.0',
        '[::1]',
      ])('refuses it at %s', async (host) => {
        const before = parsed.length;
        const answer = await viaProxy(
          `http://${host}:${port}/computeMetadata/v1/`,
          { method: 'GET' },
          '',
          refusing.port,
        );
        expect(answer.status).toBe(403);
        expect(parsed.length).toBe(before);
      });

      it('still relays to another port of this machine', async () => {
        const other = createServer((_request, response) => response.end('not the metadata server'));
        other.listen(0, '127.0.0.1');
        await once(other, 'listening');
        try {
          const otherPort = (other.address() as AddressInfo).port;
          expect(await viaProxy(`http://localhost:${otherPort}/`, { method: 'GET' }, '', refusing.port)).toEqual({
            status: 200,
            text: 'not the metadata server',
          });
        } finally {
          other.close();
        }
      });
    },
  );

  it('refuses a name that GCE_METADATA_HOST gives, and the addresses it resolves to', async () => {
    const port = upstreamOrigin.split(':')[2] ?? '';
    const refusing = await startProxy(router, 0, {
      guard: new MetadataGuard({ GCE_METADATA_HOST: `localhost:${port}` }),
    });
    try {
      for (const host of ['localhost', 'localhost.', '127.0.0.1']) {
        const answer = await viaProxy(
          `http://${host}:${port}/computeMetadata/v1/`,
          { method: 'GET' },
          '',
          refusing.port,
        );
        expect(answer.status).toBe(403);
      }
    } finally {
      await refusing.close();
    }
  });
});

describe('a body too large for the service it goes to', () => {
  let service: ReturnType<typeof Fastify>;
  let routing: RunningProxy;

  beforeAll(async () => {
    // An RPC service's own plugin, whose body limit is 1 MiB, under the short name `pantry`.
    service = Fastify();
    registerRpcServices(service, [auditServiceRoutes({ ping: () => ({ now: '2026-12-04T20:00:00Z' }) })]);
    const origin = await service.listen({ host: '127.0.0.1', port: 0 });
    const pantry = new Router({
      context: { mode: 'local', services: { pantry: origin } },
      tokens: new TokenCache({ source: async () => 'unused' }),
      tokenSource: 'metadata',
    });
    routing = await startProxy(pantry);
  });

  afterAll(async () => {
    await routing.close();
    await service.close();
  });

  function upload(megabytes: number) {
    const body = Buffer.alloc(megabytes * 1024 * 1024, 0x20);
    return new Promise<{ status: number; text: string }>((resolve, reject) => {
      const outgoing = httpRequest(
        {
          host: '127.0.0.1',
          port: routing.port,
          path: 'http://pantry/oto/AuditService.Ping',
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': body.length },
          agent: false,
        },
        async (response) => {
          let text = '';
          for await (const chunk of response) text += chunk;
          resolve({ status: response.statusCode ?? 0, text });
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }

  // The service answers 413 before the body has arrived; the proxy's write used to fail first (502 EPIPE).
  it.each([2, 3])("gets the service's 413 to a %d MB body, every time", async (megabytes) => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const answer = await upload(megabytes);
      expect(answer.status).toBe(413);
      expect(JSON.parse(answer.text)).toMatchObject({ code: 'payload_too_large' });
    }
  });

  it("gets the proxy's own 413 to a body over Cloud Run's 32 MiB, which Cloud Run would refuse", async () => {
    expect(await upload(40)).toEqual({
      status: 413,
      text: "runsd proxy: a 41943040-byte body is over Cloud Run's limit on a request (32 MiB), which it refuses with 413\n",
    });
  });
});

describe('a client that goes away', () => {
  it('takes its upstream request with it: 20 aborted uploads leave no upstream connection open', async () => {
    const open = new Set<unknown>();
    const slow = createServer((request) => {
      // Reads the upload, never answers: only the proxy's abort can end these.
      open.add(request.socket);
      request.socket.on('close', () => open.delete(request.socket));
      request.resume();
    });
    slow.listen(0, '127.0.0.1');
    await once(slow, 'listening');
    try {
      const origin = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
      for (let i = 0; i < 20; i++) {
        const upload = httpRequest({
          host: '127.0.0.1',
          port: proxy.port,
          path: `${origin}/upload`,
          method: 'POST',
          headers: { 'content-length': '1000000' },
          agent: false,
        });
        upload.on('error', () => {});
        upload.write('x'.repeat(1000));
        await new Promise((resolve) => setTimeout(resolve, 20));
        upload.destroy();
      }
      for (let waited = 0; waited < 2_000 && open.size > 0; waited += 50) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(open.size).toBe(0);
    } finally {
      slow.closeAllConnections();
      slow.close();
    }
  });
});
