import { registerTacoService, unimplementedTacoService } from '@taco-run/fixture-taco-generated/server';
import { freePort, type ServiceProcess, startService } from '@taco-run/project/process';
import { fixtureBundle } from '@taco-run/project/testing';
import { codeStatus } from '@taco-run/rpc';
import { listenOnLoopback } from '@taco-run/rpc/testing';
import Fastify, { type FastifyInstance } from 'fastify';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rssMb } from './helpers.js';

// Case 1: hundreds of malformed requests against the RPC server. Every answer is a 4xx of the
// protocol, the server stays up, its memory settles, and nothing pollutes Object.prototype.

interface Malformed {
  name: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  /**
   * A body over the limit: the server answers 413 before it has all arrived and reads the rest to
   * drop it, but a client writing faster than that may still have its write cut off (EPIPE,
   * ECONNRESET) before it reads the answer: seen once in CI on Node 20.
   */
  overLimit?: true;
}

const route = '/oto/TacoService.EatTaco';
const json = { 'content-type': 'application/json' };
const valid = JSON.stringify({ name: 'Sammy Sosa', tacos: ['Chicken', 'Chorizo'] });

/** Generated, not hand-picked: every prefix of a valid body, every field as every wrong type, and the rest. */
function malformedRequests(): Malformed[] {
  const cases: Malformed[] = [];
  for (let end = 0; end < valid.length; end++)
    cases.push({ name: `truncated at ${end}`, method: 'POST', path: route, headers: json, body: valid.slice(0, end) });
  const wrong: unknown[] = [null, 0, -1, 1.5, true, false, '', 'x', [], [1], [null], {}, { a: 1 }, [[]], ['a', 5]];
  for (const field of ['name', 'tacos']) {
    for (const value of wrong) {
      const body = { name: 'Sammy', tacos: ['Fish'], [field]: value };
      if (field === 'name' && typeof value === 'string' && value !== '') continue; // a real name
      if (
        field === 'tacos' &&
        Array.isArray(value) &&
        value.length > 0 &&
        value.every((item) => typeof item === 'string')
      )
        continue;
      cases.push({
        name: `${field} = ${JSON.stringify(value)}`,
        method: 'POST',
        path: route,
        headers: json,
        body: JSON.stringify(body),
      });
    }
  }
  for (const value of [null, 0, 'string', [], true])
    cases.push({
      name: `body ${JSON.stringify(value)}`,
      method: 'POST',
      path: route,
      headers: json,
      body: JSON.stringify(value),
    });
  cases.push({
    name: 'nulls everywhere',
    method: 'POST',
    path: route,
    headers: json,
    body: '{"name":null,"tacos":[null,null]}',
  });
  cases.push({
    name: '10k nested arrays',
    method: 'POST',
    path: route,
    headers: json,
    body: `${'['.repeat(10_000)}${']'.repeat(10_000)}`,
  });
  cases.push({
    name: '10k nested objects in a field',
    method: 'POST',
    path: route,
    headers: json,
    body: `{"name":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)},"tacos":["x"]}`,
  });
  cases.push({
    name: '1 MB name',
    method: 'POST',
    path: route,
    headers: json,
    body: JSON.stringify({ name: 'x'.repeat(1_000_000), tacos: ['a'] }),
  });
  cases.push({
    name: '1 MB taco list',
    method: 'POST',
    path: route,
    headers: json,
    body: JSON.stringify({ name: 'x', tacos: Array.from({ length: 120_000 }, () => 'abcdef') }),
    overLimit: true,
  });
  cases.push({
    name: 'over the 1 MiB limit',
    method: 'POST',
    path: route,
    headers: json,
    body: 'x'.repeat(1_100_000),
    overLimit: true,
  });
  // The two ways JSON reaches Object.prototype: a __proto__ key, and constructor.prototype.
  for (const [key, value] of [
    ['__proto__', '{"polluted":true}'],
    ['constructor', '{"prototype":{"polluted":true}}'],
  ] as const) {
    cases.push({
      name: `${key} key`,
      method: 'POST',
      path: route,
      headers: json,
      body: `{"name":"x","tacos":["a"],"${key}":${value}}`,
    });
    cases.push({
      name: `nested ${key} key`,
      method: 'POST',
      path: route,
      headers: json,
      body: `{"name":"x","tacos":["a"],"extra":{"${key}":${value}}}`,
    });
    cases.push({
      name: `${key} key in an array`,
      method: 'POST',
      path: route,
      headers: json,
      body: `{"name":"x","tacos":[{"${key}":${value}}]}`,
    });
  }
  for (const bytes of [[0xff], [0xc3, 0x28], [0xe2, 0x82], [0xf0, 0x28, 0x8c, 0x28], [0xed, 0xa0, 0x80]]) {
    cases.push({
      name: `invalid UTF-8 ${bytes.map((b) => b.toString(16)).join(' ')}`,
      method: 'POST',
      path: route,
      headers: json,
      body: Buffer.concat([Buffer.from('{"name":"'), Buffer.from(bytes), Buffer.from('","tacos":5}')]),
    });
  }
  for (const type of [
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/xml',
    'application/jsonx',
    'image/png',
  ]) {
    cases.push({
      name: `content type ${type}`,
      method: 'POST',
      path: route,
      headers: { 'content-type': type },
      body: valid,
    });
  }
  cases.push({ name: 'no content type', method: 'POST', path: route, headers: {}, body: valid });
  cases.push({ name: 'empty body', method: 'POST', path: route, headers: json, body: '' });
  cases.push({
    name: '15 KB header',
    method: 'POST',
    path: route,
    headers: { ...json, 'x-big': 'h'.repeat(15_000) },
    body: '{',
  });
  cases.push({
    name: "40 KB header (over Node's limit)",
    method: 'POST',
    path: route,
    headers: { ...json, 'x-big': 'h'.repeat(40_000) },
    body: valid,
  });
  for (const method of ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'])
    cases.push({ name: method, method, path: route, headers: json, body: method === 'GET' ? undefined : valid });
  for (const path of [
    '/oto/TacoService.NoSuchMethod',
    '/oto/BurritoService.EatTaco',
    '/oto/',
    '/oto/TacoService',
    '/oto/TacoService.EatTaco/extra',
    '/oto/%00',
    '/oto/..%2F..%2Fetc%2Fpasswd',
    `/oto/${'x'.repeat(5000)}`,
  ]) {
    cases.push({ name: `unknown route ${path.slice(0, 40)}`, method: 'POST', path, headers: json, body: valid });
  }
  // Repeat the cheap ones until there are well over 500.
  const again = cases.map((item) => ({ ...item, name: `${item.name} (again)` }));
  while (cases.length < 600) cases.push(...again.slice(0, 600 - cases.length));
  return cases;
}

/** The statuses the protocol table allows for bad input, plus Node's own 431 for headers over its limit. */
const allowed = new Set([...Object.values(codeStatus).filter((status) => status >= 400 && status < 500), 431]);

/** The answer's status; or, for a body over the limit, that the server cut the upload off, as it may. */
async function send(origin: string, item: Malformed): Promise<number | 'cut off'> {
  try {
    // A connection each: one the server closed after a 413 is not handed to the next request.
    const response = await request(`${origin}${item.path}`, {
      method: item.method,
      headers: item.headers,
      body: item.body,
      reset: true,
    });
    await response.body.dump();
    return response.statusCode;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (item.overLimit && (code === 'EPIPE' || code === 'ECONNRESET')) return 'cut off';
    throw error;
  }
}

async function sendAll(origin: string, items: Malformed[]): Promise<Map<string, number | 'cut off'>> {
  const statuses = new Map<string, number | 'cut off'>();
  const queue = [...items];
  const worker = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
      statuses.set(item.name, await send(origin, item));
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return statuses;
}

describe('bad input to the RPC server', () => {
  const items = malformedRequests();
  let server: ServiceProcess;
  let inProcess: FastifyInstance;
  let inProcessOrigin: string;

  beforeAll(async () => {
    server = await startService(fixtureBundle('tacoserver'), { LOG_LEVEL: 'warn' }, { port: await freePort() });
    inProcess = Fastify();
    registerTacoService(inProcess, {
      ...unimplementedTacoService(),
      eatTaco: (order) => ({ tacoConsumptionStatus: `${order.name} ${order.tacos.length}` }),
    });
    inProcessOrigin = await listenOnLoopback(inProcess);
  });

  afterAll(async () => {
    await inProcess.close();
    expect(await server.stop()).toBe(0);
  });

  it(`answers all ${items.length} malformed requests with a 4xx of the protocol, none with a 5xx`, async () => {
    expect(items.length).toBeGreaterThanOrEqual(500);
    const statuses = await sendAll(server.origin, items);
    const wrong = [...statuses].filter(([, status]) => status !== 'cut off' && !allowed.has(status));
    expect(wrong).toEqual([]);
    expect(statuses.get("40 KB header (over Node's limit)")).toBe(431);
    expect(statuses.get('__proto__ key')).toBe(400);
  });

  it('stays up, and its memory after a second pass is within 50 MB of before', async () => {
    const before = rssMb(server.pid);
    await sendAll(server.origin, items);
    await sendAll(server.origin, items);
    const after = rssMb(server.pid);
    const health = await request(`${server.origin}/healthz`);
    expect(health.statusCode).toBe(200);
    await health.body.dump();
    expect(after - before).toBeLessThan(50);
    const answer = await request(`${server.origin}${route}`, { method: 'POST', headers: json, body: valid });
    expect(await answer.body.json()).toEqual({ tacoConsumptionStatus: 'Sammy Sosa has consumed 2 tacos' });
  });

  it('is not polluted by __proto__ or constructor keys', async () => {
    const statuses = await sendAll(
      inProcessOrigin,
      items.filter((item) => /__proto__|constructor/.test(item.name)),
    );
    expect(statuses.size).toBeGreaterThanOrEqual(6);
    expect([...statuses.values()].every((status) => status === 400)).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
  });
});
