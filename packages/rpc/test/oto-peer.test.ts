import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcClient, RpcError } from '../src/client/index.js';
import type { Shape } from '../src/protocol/index.js';
import { WebRpcClient } from '../src/web/index.js';

// Our client against an oto Go server, replayed from what one answers (as measured and recorded in
// shared/OTO-INTEROP.md): the status, the headers that matter and the exact body bytes.

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

const json = (text: string, headers: Record<string, string> = {}): Answer => ({
  status: 200,
  headers: { 'content-type': 'application/json', ...headers },
  body: Buffer.from(text),
});

/** What the oto server answers for each method the tests call. */
const answers: Record<string, Answer> = {
  // A handler that sets the response's Error field: 200, the other fields at their zero values.
  'Kitchen.Closed': json('{"tacoConsumptionStatus":"","error":"the kitchen is closed"}'),
  // oto's omitempty `error`, present but empty.
  'Kitchen.EmptyError': json('{"tacoConsumptionStatus":"Sammy Sosa has consumed 2 tacos","error":""}'),
  // Compressed, because the caller said Accept-Encoding: gzip (Go's transport does).
  'Kitchen.Gzip': {
    ...json(''),
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    body: gzipSync('{"tacoConsumptionStatus":"gzipped"}'),
  },
  'Kitchen.Deflate': {
    ...json(''),
    headers: { 'content-type': 'application/json', 'content-encoding': 'deflate' },
    body: deflateSync('{"tacoConsumptionStatus":"deflated"}'),
  },
  'Kitchen.Brotli': {
    ...json(''),
    headers: { 'content-type': 'application/json', 'content-encoding': 'br' },
    body: brotliCompressSync('{"tacoConsumptionStatus":"brotli"}'),
  },
  // A handler's returned error, compressed: 500 with only `error`.
  'Kitchen.GzipFailure': {
    status: 500,
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    body: gzipSync('{"error":"the fryer is on fire"}'),
  },
  // Optional fields the handler never set, at Go's zero values: an enum, a `@minLength 1` note, a
  // `@minimum 1` rating, and a count whose 0 breaks no rule.
  'Kitchen.Unset': json('{"name":"Corn tortillas","spice":"","note":"","rating":0,"count":0}'),
  'Kitchen.Garbled': {
    ...json(''),
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    body: Buffer.from('not gzip at all'),
  },
};

let server: Server;
let base: string;
let client: RpcClient;
const received: IncomingHttpHeaders[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    received.push(request.headers);
    const answer = answers[(request.url ?? '').replace('/oto/', '')];
    request.resume();
    if (answer === undefined) {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
      return;
    }
    response.writeHead(answer.status, { ...answer.headers, 'content-length': answer.body.length }).end(answer.body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oto/`;
  client = new RpcClient(base, { retry: false });
});

afterAll(() => server.close());

describe.each([
  ['the Node client', () => client],
  ['the web client', () => new WebRpcClient(base, { retry: false })],
] as const)('%s against an oto Go server', (_name, client) => {
  it('throws the error a 200 carries, as an oto client does, instead of resolving with it', async () => {
    const failure = await client()
      .call('Kitchen.Closed', {})
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RpcError);
    expect(failure).toMatchObject({ code: 'unknown', message: 'the kitchen is closed' });
  });

  it("drops an empty error from a success, so the caller gets only the response's fields", async () => {
    await expect(client().call('Kitchen.EmptyError', {})).resolves.toEqual({
      tacoConsumptionStatus: 'Sammy Sosa has consumed 2 tacos',
    });
  });

  it.each([
    ['gzip', 'Kitchen.Gzip', 'gzipped'],
    ['deflate', 'Kitchen.Deflate', 'deflated'],
    ['br', 'Kitchen.Brotli', 'brotli'],
  ])('reads a %s body', async (_encoding, method, status) => {
    await expect(client().call(method, {})).resolves.toEqual({ tacoConsumptionStatus: status });
  });

  it("reads a compressed failure's error", async () => {
    await expect(client().call('Kitchen.GzipFailure', {})).rejects.toMatchObject({
      code: 'unknown',
      message: 'the fryer is on fire',
      status: 500,
    });
  });

  it("reads oto's plain-text 404 as not_found", async () => {
    await expect(client().call('Kitchen.Nowhere', {})).rejects.toMatchObject({ code: 'not_found', status: 404 });
  });

  it('reads an optional field at a zero value its rules refuse as absent, and keeps a zero that breaks none', async () => {
    const response: Shape = {
      name: ['value', false],
      spice: ['value', 'or-zero'],
      note: ['value', 'or-zero'],
      rating: ['value', 'or-zero'],
      count: ['value', true],
    };
    await expect(client().call('Kitchen.Unset', {}, {}, { response })).resolves.toEqual({
      name: 'Corn tortillas',
      count: 0,
    });
  });
});

describe('the Node client against an oto Go server', () => {
  it('says so when a compressed body cannot be decoded', async () => {
    await expect(client.call('Kitchen.Garbled', {})).rejects.toMatchObject({
      code: 'unknown',
      message: expect.stringMatching(/^the gzip answer could not be decoded: /),
    });
  });

  it('asks for no compression, so an oto server answers uncompressed', async () => {
    received.length = 0;
    await client.call('Kitchen.EmptyError', {});
    expect(received[0]).toBeDefined();
    expect(received[0]?.['accept-encoding']).toBeUndefined();
  });
});
