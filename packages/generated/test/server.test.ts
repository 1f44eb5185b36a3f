import { Writable } from 'node:stream';
import { type Code, codeStatus, codes, RpcError } from '@taco-run/rpc';
import { listenOnLoopback } from '@taco-run/rpc/testing';
import Fastify, { type FastifyInstance } from 'fastify';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EatTacoRequest,
  registerTacoService,
  type TacoService,
  TacoServiceClient,
  unimplementedTacoService,
} from '../src/index.js';
import { TacoServiceClient as WebTacoServiceClient } from '../src/web.js';

// The taco service as the wire sees it: real Fastify on loopback, called with undici's raw request and the generated client.

const received: EatTacoRequest[] = [];
const logLines: string[] = [];
let aborted: Promise<unknown> = Promise.resolve();

const impl: TacoService = {
  ...unimplementedTacoService(),
  async eatTaco(body, context) {
    received.push(body);
    if (body.name === 'plain-throw') throw new Error('database password is hunter2');
    if (body.name === 'hang') {
      aborted = new Promise((resolve) =>
        context.signal.addEventListener('abort', () => resolve(context.signal.reason)),
      );
      await aborted;
    }
    if ((codes as string[]).includes(body.name)) throw new RpcError(body.name as Code, `failed with ${body.name}`);
    if (body.name === 'leaky') return { tacoConsumptionStatus: 'ok', secret: 'do not echo' } as never;
    return { tacoConsumptionStatus: `${body.name} has consumed ${body.tacos.length} tacos` };
  },
};

let app: FastifyInstance;
let origin: string;
const url = (path = 'TacoService.EatTaco') => `${origin}/oto/${path}`;

beforeAll(async () => {
  const stream = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  app = Fastify({ logger: { level: 'info', stream } });
  registerTacoService(app, impl);
  origin = await listenOnLoopback(app);
});

afterAll(() => app.close());

async function post(
  body: string,
  headers: Record<string, string> = { 'content-type': 'application/json' },
  path?: string,
) {
  const response = await request(url(path), { method: 'POST', headers, body });
  return {
    status: response.statusCode,
    headers: response.headers,
    body: (await response.body.json()) as Record<string, unknown>,
  };
}

describe('the oto wire', () => {
  it('answers an oto-style raw request with 200 and the response fields', async () => {
    const response = await post('{"name":"Sammy Sosa","tacos":["Chicken","Chorizo"]}');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.body).toEqual({ tacoConsumptionStatus: 'Sammy Sosa has consumed 2 tacos' });
  });

  it('accepts the charset parameter oto Go clients send', async () => {
    const response = await post('{"name":"Go","tacos":["Al pastor"]}', {
      'content-type': 'application/json; charset=utf-8',
    });
    expect(response.status).toBe(200);
  });

  it.each([
    ['Node', TacoServiceClient],
    ['web', WebTacoServiceClient],
  ])('serves the same call through the generated %s client', async (_kind, Client) => {
    const client = new Client(`${origin}/oto/`);
    await expect(client.eatTaco({ name: 'Sammy Sosa', tacos: ['Chicken', 'Chorizo'] })).resolves.toEqual({
      tacoConsumptionStatus: 'Sammy Sosa has consumed 2 tacos',
    });
  });

  it("gives the web client a validation failure as RpcError invalid_argument with the server's details", async () => {
    const client = new WebTacoServiceClient(`${origin}/oto/`);
    const error = await client.eatTaco({ name: '', tacos: ['Fish'] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RpcError);
    expect(error).toMatchObject({
      code: 'invalid_argument',
      status: 400,
      details: [{ path: 'name', message: 'EatTacoRequest.Name is required' }],
    });
  });

  it('strips unknown request fields before the implementation sees them, and never echoes unknown response fields', async () => {
    received.length = 0;
    const response = await post('{"name":"leaky","tacos":["Fish"],"extra":{"deep":1}}');
    expect(received).toEqual([{ name: 'leaky', tacos: ['Fish'] }]);
    expect(response.body).toEqual({ tacoConsumptionStatus: 'ok' });
  });
});

describe('the protocol error table', () => {
  it('answers {"name": 5} with 400 invalid_argument and details naming name', async () => {
    const response = await post('{"name":5,"tacos":["Chicken"]}');
    expect(response.status).toBe(400);
    expect(response.body).toEqual({
      error: 'EatTacoRequest.Name must be string',
      code: 'invalid_argument',
      details: [{ path: 'name', message: 'EatTacoRequest.Name must be string' }],
    });
  });

  it('reports every invalid field, with paths into arrays', async () => {
    const response = await post('{"tacos":["Chicken",7]}');
    expect(response.status).toBe(400);
    expect(response.body.details).toEqual([
      { path: 'name', message: 'EatTacoRequest.Name is required' },
      { path: 'tacos[1]', message: 'EatTacoRequest.Tacos[1] must be string' },
    ]);
  });

  it('says a field is required when a @minLength 1 or @minItems 1 rule fails', async () => {
    const empty = await post('{"name":"","tacos":["Chicken"]}');
    expect(empty.body).toMatchObject({ code: 'invalid_argument', error: 'EatTacoRequest.Name is required' });
    const none = await post('{"name":"Sammy","tacos":[]}');
    expect(none.body).toMatchObject({ code: 'invalid_argument', error: 'EatTacoRequest.Tacos is required' });
  });

  it('answers a body that is not an object with invalid_argument', async () => {
    const response = await post('[1,2]');
    expect(response).toMatchObject({
      status: 400,
      body: { code: 'invalid_argument', error: 'EatTacoRequest must be object' },
    });
  });

  it('answers malformed JSON with 400 malformed', async () => {
    const response = await post('{"name": "Sammy", "tacos": [');
    expect(response).toMatchObject({
      status: 400,
      body: { code: 'malformed', error: 'the request body is not valid JSON' },
    });
  });

  it('answers an empty JSON body with 400 malformed', async () => {
    const response = await post('');
    expect(response).toMatchObject({ status: 400, body: { code: 'malformed' } });
  });

  it('refuses __proto__ keys as malformed and is not polluted by them', async () => {
    const response = await post('{"name":"x","tacos":["a"],"__proto__":{"polluted":true}}');
    expect(response).toMatchObject({ status: 400, body: { code: 'malformed' } });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('answers a 2 MiB body with 413 payload_too_large', async () => {
    const big = JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024), tacos: ['a'] });
    const response = await post(big);
    expect(response).toMatchObject({
      status: 413,
      body: { code: 'payload_too_large', error: 'the request body is over the limit of 1048576 bytes' },
    });
  });

  it('answers a non-JSON content type with 415 unsupported_media_type', async () => {
    const response = await post('name=Sammy', { 'content-type': 'text/plain' });
    expect(response).toMatchObject({ status: 415, body: { code: 'unsupported_media_type' } });
    expect(response.body.error).toContain('text/plain');
  });

  it('answers an unknown method with 404 bad_route', async () => {
    const method = await post('{}', undefined, 'TacoService.NoSuchMethod');
    expect(method).toMatchObject({ status: 404, body: { code: 'bad_route' } });
    expect(method.body.error).toContain('TacoService.NoSuchMethod');
    const service = await post('{}', undefined, 'BurritoService.EatTaco');
    expect(service).toMatchObject({ status: 404, body: { code: 'bad_route' } });
  });

  it.each(['GET', 'PUT', 'DELETE'])('answers %s on a method route with 405 and Allow: POST', async (method) => {
    const response = await request(url(), { method });
    expect(response.statusCode).toBe(405);
    expect(response.headers.allow).toBe('POST');
    expect(await response.body.json()).toEqual({
      error: `${method} is not allowed; RPC calls use POST`,
      code: 'method_not_allowed',
    });
  });

  it.each(codes)('sends a thrown RpcError %s with its status, code and message', async (code) => {
    const response = await post(JSON.stringify({ name: code, tacos: ['a'] }));
    expect(response.status).toBe(codeStatus[code]);
    expect(response.body).toEqual({ error: `failed with ${code}`, code });
  });

  it.each(
    codes.flatMap((code) => [['Node', TacoServiceClient, code] as const, ['web', WebTacoServiceClient, code] as const]),
  )('gives the generated %s client an RpcError %s for it', async (_kind, Client, code) => {
    const client = new Client(`${origin}/oto/`, { retry: false });
    const error = await client.eatTaco({ name: code, tacos: ['a'] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RpcError);
    expect(error).toMatchObject({ code, status: codeStatus[code], message: `failed with ${code}` });
  });

  it('turns a plain thrown error into 500 internal with a generic message, and logs the real one', async () => {
    const response = await post('{"name":"plain-throw","tacos":["a"]}');
    expect(response).toEqual(
      expect.objectContaining({ status: 500, body: { error: 'internal error', code: 'internal' } }),
    );
    expect(JSON.stringify(response.body)).not.toContain('hunter2');
    const logged = logLines.map(
      (line) => JSON.parse(line) as { level: number; err?: { message: string; stack: string } },
    );
    const entry = logged.find((line) => line.err?.message === 'database password is hunter2');
    expect(entry?.level).toBe(50);
    expect(entry?.err?.stack).toContain('server.test.ts');
  });
});

describe('the implementation context', () => {
  it('fires context.signal when the caller goes away', async () => {
    const client = new TacoServiceClient(`${origin}/oto/`, { timeout: 100, retry: false });
    await expect(client.eatTaco({ name: 'hang', tacos: ['a'] })).rejects.toMatchObject({ code: 'deadline_exceeded' });
    await expect(aborted).resolves.toMatchObject({ code: 'canceled' });
  });

  it('honours a configured body limit', async () => {
    const small = Fastify();
    registerTacoService(small, impl, { bodyLimit: 64, basePath: '/rpc/' });
    const smallOrigin = await listenOnLoopback(small);
    try {
      const response = await request(`${smallOrigin}/rpc/TacoService.EatTaco`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'x'.repeat(100), tacos: ['a'] }),
      });
      expect(response.statusCode).toBe(413);
      expect(await response.body.json()).toEqual({
        error: 'the request body is over the limit of 64 bytes',
        code: 'payload_too_large',
      });
    } finally {
      await small.close();
    }
  });
});
