import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TacoServiceClient } from '@taco-run/fixture-taco-generated/client';
import { freePort, type ServiceProcess, startService } from '@taco-run/project/process';
import { fixtureBundle } from '@taco-run/project/testing';
import { RpcError } from '@taco-run/rpc';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

// Case 2: a tacoserver that fails in each way a network hop can, seen by the generated client
// and by tacoclient. Each failure has its documented code, and EatTaco (not @idempotent) is
// sent once unless nothing was sent at all.

type Mode = 'reset' | 'silent' | 'html502' | 'busy503';
let mode: Mode = 'reset';
let hits = 0;
let server: Server;
let origin: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    hits++;
    req.resume();
    req.on('end', () => {
      if (mode === 'reset') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '200' });
        res.write('{"tacoConsumptionStatus":');
        setTimeout(() => res.socket?.destroy(), 10);
      } else if (mode === 'html502') {
        res.writeHead(502, { 'content-type': 'text/html' }).end('<html><body><h1>502 Bad Gateway</h1></body></html>');
      } else if (mode === 'busy503') {
        res
          .writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' })
          .end('{"error":"too many tacos","code":"unavailable"}');
      }
      // silent: never answers
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server.closeAllConnections();
  server.close();
});

beforeEach(() => {
  hits = 0;
});

const order = { name: 'Sammy Sosa', tacos: ['Chicken'] };

async function refusedOrigin(): Promise<string> {
  return `http://127.0.0.1:${await freePort()}`;
}

describe('the generated client against a failing upstream', () => {
  it.each<[Mode | 'refused', string, number]>([
    ['refused', 'unavailable', 0],
    ['reset', 'unavailable', 1],
    ['silent', 'deadline_exceeded', 1],
    ['html502', 'unavailable', 1],
    ['busy503', 'unavailable', 1],
  ])('%s → %s, sent %i time(s)', async (fault, code, sent) => {
    if (fault !== 'refused') mode = fault;
    const base = fault === 'refused' ? await refusedOrigin() : origin;
    const client = new TacoServiceClient(`${base}/oto/`, { timeout: 300, retry: { initialDelay: 1 } });
    const error = await client.eatTaco(order).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RpcError);
    expect((error as RpcError).code).toBe(code);
    expect(hits).toBe(sent);
  });

  it('keeps the 503 Retry-After and the 502 page for the caller', async () => {
    mode = 'busy503';
    const busy = (await new TacoServiceClient(`${origin}/oto/`)
      .eatTaco(order)
      .catch((caught: unknown) => caught)) as RpcError;
    expect(busy).toMatchObject({ code: 'unavailable', message: 'too many tacos', retryAfter: 1000, status: 503 });
    mode = 'html502';
    const page = (await new TacoServiceClient(`${origin}/oto/`)
      .eatTaco(order)
      .catch((caught: unknown) => caught)) as RpcError;
    expect(page.body).toBe('<html><body><h1>502 Bad Gateway</h1></body></html>');
  });
});

describe('tacoclient against a failing tacoserver', () => {
  let tacoclient: ServiceProcess;
  let refusedClient: ServiceProcess;
  const bundle = fixtureBundle('tacoclient');

  beforeAll(async () => {
    tacoclient = await startService(
      bundle,
      // Long enough for tacoclient's first call, which loads its HTTP client, on a busy CI machine:
      // at 300 ms a reset once came back as the deadline instead.
      { LOG_LEVEL: 'warn', TACOSERVER_URL: `${origin}/oto/`, TACOSERVER_TIMEOUT_MS: '1000' },
      { port: await freePort() },
    );
    refusedClient = await startService(
      bundle,
      { LOG_LEVEL: 'warn', TACOSERVER_URL: `${await refusedOrigin()}/oto/` },
      { port: await freePort() },
    );
  });

  afterAll(async () => {
    expect(await tacoclient.stop()).toBe(0);
    expect(await refusedClient.stop()).toBe(0);
  });

  async function get(service: ServiceProcess) {
    const response = await request(service.origin);
    return { status: response.statusCode, text: await response.body.text() };
  }

  it.each<[Mode, number, RegExp]>([
    ['reset', 502, /failed: unavailable: cannot reach http:\/\/127\.0\.0\.1:\d+: /],
    ['silent', 504, /failed: deadline_exceeded: no answer within 1000 ms/],
    ['html502', 502, /failed: unavailable: .* answered 502 Bad Gateway, not an RPC response/],
    ['busy503', 502, /failed: unavailable: too many tacos/],
  ])('%s → %i naming the code', async (fault, status, text) => {
    mode = fault;
    const answer = await get(tacoclient);
    expect(answer.status).toBe(status);
    expect(answer.text).toMatch(text);
    expect(answer.text).not.toMatch(/\n\s+at /);
    expect(hits).toBe(1);
  });

  it('refused → 502 naming ECONNREFUSED', async () => {
    const answer = await get(refusedClient);
    expect(answer).toMatchObject({ status: 502 });
    expect(answer.text).toMatch(/failed: unavailable: cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
  });
});
