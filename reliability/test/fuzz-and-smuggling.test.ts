import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { freePort, type ServiceProcess, startService } from '@taco-run/project/process';
import { fixtureBundle } from '@taco-run/project/testing';
import { codes } from '@taco-run/rpc';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Case 9: the built services under requests nobody should send. A seeded fuzz pass over paths
// and query strings of both services, where every answer must be the service's own or
// protocol-shaped with a code from the table, and none a 5xx; and a smuggling attempt through
// runsd's proxy, which must reach tacoserver as exactly the requests that were sent.

const root = fileURLToPath(new URL('../../', import.meta.url));
const runsd = `${root}tools/runsd/dist/runsd.js`;
let tacoserver: ServiceProcess;
let tacoclient: ServiceProcess;

beforeAll(async () => {
  // At debug, health probes are logged too: the smuggling case counts every request tacoserver answered.
  tacoserver = await startService(fixtureBundle('tacoserver'), { LOG_LEVEL: 'debug' });
  tacoclient = await startService(
    fixtureBundle('tacoclient'),
    {
      LOG_LEVEL: 'warn',
      TACOSERVER_URL: `${tacoserver.origin}/oto/`,
    },
    { port: await freePort() },
  );
});

afterAll(async () => {
  await tacoclient.stop();
  await tacoserver.stop();
});

/** A small seeded generator (mulberry32), so a failure names a case that can be run again. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pieces = [
  'oto',
  'OTO',
  'Oto',
  'TacoService.EatTaco',
  'TacoService',
  'EatTaco',
  'tacoservice.eattaco',
  'healthz',
  '',
  '.',
  '..',
  '%2e%2e',
  '%2F',
  '%zz',
  '%',
  '%e2%82',
  '%00',
  '~',
  'a b',
  '🌮',
  '__proto__',
  'constructor',
  'x'.repeat(300),
  ';',
  ',',
  "'",
  '"',
  '<script>',
  '\\',
  '%5c',
];
const queries = [
  'name=Ana',
  'name=',
  'name=&name=',
  'tacos=a,b',
  'tacos=a&tacos=b',
  'tacos[]=a',
  'tacos[0]=a',
  'name[a]=b',
  '__proto__[x]=1',
  'constructor[prototype][x]=1',
  'name=%zz',
  'name=%00',
  `name=${'n'.repeat(300)}`,
  `tacos=${Array.from({ length: 1200 }, () => 'x').join(',')}`,
  'tacos=,,,',
  '=',
  '&&&',
  'name',
  '%',
  'a=%e2%82',
];

function pick<T>(next: () => number, items: readonly T[]): T {
  return items[Math.floor(next() * items.length)] as T;
}

/** A path and query a fuzzer would send: pieces joined by one or two slashes, with a query half the time. */
function fuzzCase(next: () => number): { method: string; path: string } {
  const segments = Array.from({ length: 1 + Math.floor(next() * 4) }, () => pick(next, pieces));
  const path = `/${segments.join(next() < 0.15 ? '//' : '/')}`;
  const query =
    next() < 0.5 ? '' : `?${Array.from({ length: 1 + Math.floor(next() * 3) }, () => pick(next, queries)).join('&')}`;
  return { method: pick(next, ['GET', 'GET', 'POST', 'HEAD', 'OPTIONS', 'DELETE']), path: `${path}${query}` };
}

const tableCodes = new Set<string>(codes);

describe('a fuzz pass over paths and query strings', () => {
  it.each([
    ['tacoserver', 1],
    ['tacoclient', 2],
  ])('answers 1 500 requests to %s inside the protocol, none with a 5xx', async (name, seed) => {
    const origin = name === 'tacoserver' ? tacoserver.origin : tacoclient.origin;
    const next = random(seed);
    const cases = Array.from({ length: 1_500 }, () => fuzzCase(next));
    // Some hits on tacoclient's own route, with every query above.
    if (name === 'tacoclient') for (const query of queries) cases.push({ method: 'GET', path: `/?${query}` });
    const agent = new Agent({ connections: 8 });
    const outside: string[] = [];
    try {
      const queue = [...cases];
      const worker = async () => {
        for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
          const response = await request(`${origin}${item.path}`, {
            method: item.method,
            dispatcher: agent,
            ...(item.method === 'POST' ? { headers: { 'content-type': 'application/json' }, body: '{}' } : {}),
          });
          const text = await response.body.text();
          // Judged by the path as it went out: the client resolves `..` and `%2e%2e` as a URL does.
          const sent = { method: item.method, path: new URL(`${origin}${item.path}`).pathname };
          const verdict = judge(name, sent, response.statusCode, String(response.headers['content-type'] ?? ''), text);
          if (verdict !== undefined) outside.push(`${item.method} ${item.path}: ${verdict}`);
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
    } finally {
      await agent.close();
    }
    expect(outside).toEqual([]);
  });
});

/** Why an answer falls outside what the service may say, or undefined when it is fine. */
function judge(service: string, item: { method: string; path: string }, status: number, type: string, text: string) {
  if (status >= 500) return `${status} ${text.slice(0, 120)}`;
  if (item.method === 'HEAD') return undefined;
  const { path } = item;
  // tacoclient's own route answers text: the order's outcome, or why it was refused.
  if (service === 'tacoclient' && path === '/' && item.method === 'GET' && type.startsWith('text/plain')) {
    return /^(.+ has consumed \d+ tacos|tacoclient: \?\w+ .+\n|tacoserver \(.+\) failed: invalid_argument: .+\n)$/s.test(
      text,
    )
      ? undefined
      : `own route said ${JSON.stringify(text.slice(0, 120))}`;
  }
  if (path === '/healthz' && item.method === 'GET' && status === 200) return undefined;
  if (status === 200 && path === '/oto/TacoService.EatTaco') return undefined;
  try {
    const body = JSON.parse(text) as { error?: unknown; code?: unknown };
    if (typeof body.error === 'string' && typeof body.code === 'string' && tableCodes.has(body.code)) return undefined;
    return `${status} not protocol-shaped: ${text.slice(0, 120)}`;
  } catch {
    return `${status} not JSON: ${text.slice(0, 120)}`;
  }
}

describe("a smuggling attempt through runsd's proxy", () => {
  it('reaches tacoserver as exactly the two requests sent, each answered to its own client', async () => {
    const proxyPort = await freePort();
    const idle = await startService(
      `${root}bench/src/idle.mjs`,
      {
        RUNSD_PROXY_PORT: String(proxyPort),
        RUNSD_SERVICES: `tacoserver=${tacoserver.origin}`,
      },
      { wrapper: [runsd, '--'] },
    );
    try {
      const before = tacoserver.lines.filter((line) => line.includes('"httpRequest"')).length;
      const smuggled =
        'POST /oto/TacoService.EatTaco HTTP/1.1\r\nhost: tacoserver\r\ncontent-type: application/json\r\ncontent-length: 35\r\n\r\n{"name":"Smuggled","tacos":["Evil"]}';
      const viaProxy = (path: string, method: string, headers: Record<string, string>, body: string) =>
        new Promise<{ status: number; text: string }>((resolve, reject) => {
          const outgoing = httpRequest(
            { host: '127.0.0.1', port: proxyPort, path: `http://tacoserver${path}`, method, headers, agent: false },
            async (response) => {
              let text = '';
              for await (const chunk of response) text += chunk;
              resolve({ status: response.statusCode ?? 0, text });
            },
          );
          outgoing.on('error', reject);
          outgoing.end(body);
        });
      const first = await viaProxy('/healthz', 'GET', { 'transfer-encoding': 'chunked' }, smuggled);
      const victim = await viaProxy(
        '/oto/TacoService.EatTaco',
        'POST',
        { 'content-type': 'application/json' },
        '{"name":"Victim","tacos":["Chicken"]}',
      );
      expect(first.status).toBe(200);
      expect(JSON.parse(first.text)).toEqual({ status: 'ok', service: 'tacoserver' });
      expect(victim).toEqual({ status: 200, text: '{"tacoConsumptionStatus":"Victim has consumed 1 tacos"}' });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const answered = tacoserver.lines.filter((line) => line.includes('"httpRequest"')).slice(before);
      expect(answered.map((line) => (JSON.parse(line) as { message: string }).message)).toEqual([
        'GET /healthz 200',
        'POST /oto/TacoService.EatTaco 200',
      ]);
      expect(tacoserver.lines.some((line) => line.includes('Smuggled'))).toBe(false);
    } finally {
      await idle.stop();
    }
  });
});
