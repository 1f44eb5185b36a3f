import { fileURLToPath } from 'node:url';
import { freePort, heldBody, type ServiceProcess, startService } from '@taco-run/project/process';
import { fixtureBundle } from '@taco-run/project/testing';
import autocannon from 'autocannon';
import { request } from 'undici';
import { afterAll, assert, beforeAll, describe, expect, it } from 'vitest';
import { children } from './helpers.js';

// Case 4: autocannon drives 100 connections at tacoclient → tacoserver, both under runsd,
// and tacoserver's runsd gets SIGTERM mid-load. Every request tacoserver accepted (its
// onRequest line) is answered 200 (its completion line, by request id); what it did not
// accept reaches tacoclient only as a refused or closed connection, or Fastify's 503 while
// closing. runsd and tacoserver exit 0 within 10 s and leave no process behind.

const root = fileURLToPath(new URL('../../', import.meta.url));
const runsd = [join('tools/runsd/dist/runsd.js'), '--'];

function join(path: string): string {
  return `${root}${path}`;
}

// The slow uploads' own User-Agent, so the test can wait for tacoserver to have accepted
// exactly those (its "request from <ua>" line) and not just any of the load's requests.
const SLOW_AGENT = 'slow-upload/1';

/** An EatTaco that sends half its body, waits for the gate, then the rest. */
async function slowCall(origin: string, name: string, gate: Promise<void>): Promise<string> {
  const body = JSON.stringify({ name, tacos: ['Chicken'] });
  const response = await request(`${origin}/oto/TacoService.EatTaco`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-length': String(body.length), 'user-agent': SLOW_AGENT },
    body: heldBody(body, gate),
  });
  const answer = (await response.body.json()) as { tacoConsumptionStatus?: string };
  return `${response.statusCode} ${answer.tacoConsumptionStatus}`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('SIGTERM under load', () => {
  let tacoserver: ServiceProcess;
  let tacoclient: ServiceProcess;

  beforeAll(async () => {
    // At info level tacoserver logs each request it accepts and each answer: the ledger this test checks.
    // At debug, each RPC says when it arrives ("request from <ua>"): how the test knows what was accepted.
    tacoserver = await startService(fixtureBundle('tacoserver'), { LOG_LEVEL: 'debug' }, { wrapper: runsd });
    tacoclient = await startService(
      fixtureBundle('tacoclient'),
      { LOG_LEVEL: 'warn', RUNSD_SERVICES: `tacoserver=${tacoserver.origin}` },
      { wrapper: runsd, port: await freePort() },
    );
  });

  afterAll(async () => {
    await tacoclient.stop();
    await tacoserver.stop();
  });

  it('loses no accepted request, and the wrapper and the service exit 0 within 10 s', async () => {
    const [servicePid] = children(tacoserver.pid);
    assert.exists(servicePid, 'runsd has started tacoserver');
    expect(alive(servicePid)).toBe(true);
    const failures = new Map<string, number>();
    let ok = 0;
    const load = autocannon({
      url: tacoclient.origin,
      connections: 100,
      duration: 4,
      requests: [
        {
          method: 'GET',
          path: '/',
          onResponse: (status: number, body: string) => {
            if (status === 200) ok++;
            else {
              // Keep the reason, not the port: "failed: unavailable: cannot reach ...: ECONNREFUSED".
              const reason = `${status} ${body.replace(/127\.0\.0\.1:\d+/g, 'tacoserver').trim()}`;
              failures.set(reason, (failures.get(reason) ?? 0) + 1);
            }
          },
        },
      ],
    });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    // Under this load most calls take well under a millisecond, so some are also made slow on
    // purpose: 20 uploads that send half their body, and the rest only after the signal.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = Array.from({ length: 20 }, (_, i) => slowCall(tacoserver.origin, `Slow ${i}`, gate));
    // Settled at once, so a failed upload is this test's failure and not an unhandled rejection.
    const slowSettled = Promise.allSettled(slow).then((results) =>
      results.map((r) => (r.status === 'fulfilled' ? r.value : `failed: ${String(r.reason)}`)),
    );
    // Until their headers are in, their connections are idle ones, which closing may cut: the
    // signal has to come after tacoserver accepted all 20, or the test checks the wrong race.
    const slowAccepted = () => tacoserver.lines.filter((line) => line.includes(`request from ${SLOW_AGENT}`)).length;
    while (slowAccepted() < 20) await new Promise((resolve) => setTimeout(resolve, 5));
    const signalled = Date.now();
    tacoserver.child.kill('SIGTERM');
    setTimeout(release, 300);
    const code = await tacoserver.exited;
    const took = Date.now() - signalled;
    const result = await load;
    expect(await slowSettled).toEqual(Array.from({ length: 20 }, (_, i) => `200 Slow ${i} has consumed 1 tacos`));

    expect(code).toBe(0);
    expect(took).toBeLessThan(10_000);
    expect(alive(servicePid)).toBe(false);
    // The load was real (about 5 000 here at rest; 1 300 with both cores busy elsewhere), so
    // the signal landed amid it: a floor, low enough for a slow CI machine.
    expect(ok).toBeGreaterThan(300);
    expect(result.errors).toBe(0);
    // tacoserver's own ledger: every request it accepted was answered, and answered 200.
    const lines = tacoserver.lines.map(
      (line) => JSON.parse(line) as { reqId?: string; message: string; httpRequest?: { status: number } },
    );
    const accepted = new Set(lines.filter((line) => line.message.startsWith('request from')).map((line) => line.reqId));
    const answered = new Map(
      lines.flatMap((line) => (line.httpRequest === undefined ? [] : [[line.reqId, line.httpRequest.status] as const])),
    );
    const lost = [...accepted].filter((reqId) => answered.get(reqId) !== 200);
    expect(accepted.size).toBeGreaterThan(300);
    expect(lost).toEqual([]);
    // What tacoclient saw fail was never accepted: refused, or closed while idle (the keep-alive
    // race every HTTP/1.1 server has when it closes), or the 503 Fastify sends while closing: its
    // JSON, whose `error` the client reads as the message, or, where the body was cut short, its status.
    for (const reason of failures.keys()) {
      expect(reason).toMatch(
        /^502 tacoserver \(http:\/\/tacoserver\/oto\/\) failed: unavailable: (cannot reach http:\/\/tacoserver: (ECONNREFUSED|ECONNRESET|UND_ERR_SOCKET)|.*answered 503 Service Unavailable|Service Unavailable$)/,
      );
    }
    const refused = [...failures.values()].reduce((a, b) => a + b, 0);
    console.log(
      `shutdown: tacoserver accepted ${accepted.size} requests and answered all 200; tacoclient saw ${ok} × 200 and ${refused} refused after the signal (${[...failures.keys()].map((r) => r.split(': ').at(-1)).join(', ')}); exit 0 in ${took} ms`,
    );
  });
});
