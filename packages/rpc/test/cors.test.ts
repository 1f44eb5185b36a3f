import Fastify, { type FastifyInstance } from 'fastify';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { type RpcServerOptions, type RpcService, registerRpcServices } from '../src/server/index.js';
import { listenOnLoopback } from '../src/testing.js';

// CORS as a browser meets it: the preflight it sends before a cross-origin POST of JSON, then the POST itself.

const echo: RpcService = {
  name: 'Echo',
  methods: [
    {
      name: 'Say',
      request: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
      response: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
      handler: (said: { text: string }) => ({ text: said.text }),
    },
  ],
};

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
  delete process.env.CORS_ORIGINS;
});

async function serve(options: RpcServerOptions = {}): Promise<string> {
  app = Fastify();
  registerRpcServices(app, [echo], options);
  app.get('/healthz', async () => ({ status: 'ok' }));
  return listenOnLoopback(app);
}

/** The preflight a browser on `origin` sends before posting JSON with a token. */
function preflight(url: string, origin: string) {
  return request(url, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type,authorization,traceparent',
    },
  });
}

function post(url: string, origin: string) {
  return request(url, {
    method: 'POST',
    headers: { origin, 'content-type': 'application/json' },
    body: '{"text":"hola"}',
  });
}

describe('CORS on the RPC routes', () => {
  it('answers the preflight of an allowed origin with what a call needs, and marks its answers', async () => {
    const origin = await serve({ corsOrigins: ['https://app.example.com'] });
    const answer = await preflight(`${origin}/oto/Echo.Say`, 'https://app.example.com');
    await answer.body.dump();
    expect(answer.statusCode).toBe(204);
    expect(answer.headers).toMatchObject({
      'access-control-allow-origin': 'https://app.example.com',
      'access-control-allow-methods': 'POST',
      'access-control-allow-headers': 'Content-Type, Authorization, traceparent',
      'access-control-max-age': '600',
    });
    const call = await post(`${origin}/oto/Echo.Say`, 'https://app.example.com');
    expect(call.statusCode).toBe(200);
    expect(call.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(await call.body.json()).toEqual({ text: 'hola' });
  });

  it('gives an origin it does not allow no Access-Control-Allow-Origin, so that its browser refuses the answer', async () => {
    const origin = await serve({ corsOrigins: ['https://app.example.com'] });
    const answer = await preflight(`${origin}/oto/Echo.Say`, 'https://evil.example.com');
    await answer.body.dump();
    // @fastify/cors still lists the methods and headers, as the README says: they allow no one.
    expect(Object.keys(answer.headers).filter((name) => name.startsWith('access-control-'))).toEqual([
      'access-control-allow-methods',
      'access-control-allow-headers',
      'access-control-max-age',
    ]);
    const call = await post(`${origin}/oto/Echo.Say`, 'https://evil.example.com');
    await call.body.dump();
    expect(call.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('leaves routes outside its scope alone', async () => {
    const origin = await serve({ corsOrigins: ['https://app.example.com'] });
    const health = await request(`${origin}/healthz`, { headers: { origin: 'https://app.example.com' } });
    await health.body.dump();
    expect(health.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('takes its origins from CORS_ORIGINS, and * allows any page', async () => {
    process.env.CORS_ORIGINS = '*';
    const origin = await serve();
    const answer = await preflight(`${origin}/oto/Echo.Say`, 'https://anywhere.example.org');
    await answer.body.dump();
    expect(answer.statusCode).toBe(204);
    expect(answer.headers['access-control-allow-origin']).toBe('*');
  });

  it('refuses a CORS_ORIGINS entry that is not an origin, naming it', async () => {
    process.env.CORS_ORIGINS = 'https://app.example.com, app.example.com/';
    await expect(serve()).rejects.toThrow(
      'CORS_ORIGINS must list origins such as https://app.example.com (a scheme and a host, and a port if not the default; no path), or *; got "app.example.com/"',
    );
  });

  it('changes nothing without origins: no CORS headers, and OPTIONS answers 405 as before', async () => {
    const origin = await serve();
    const answer = await preflight(`${origin}/oto/Echo.Say`, 'https://app.example.com');
    expect(answer.statusCode).toBe(405);
    expect(answer.headers.allow).toBe('POST');
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
    expect(await answer.body.json()).toEqual({
      error: 'OPTIONS is not allowed; RPC calls use POST',
      code: 'method_not_allowed',
    });
    const call = await post(`${origin}/oto/Echo.Say`, 'https://app.example.com');
    await call.body.dump();
    expect(call.headers['access-control-allow-origin']).toBeUndefined();
  });
});
