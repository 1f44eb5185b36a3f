import { fileURLToPath } from 'node:url';
import { loadProject } from '@taco-run/project/services';
import { fixtureProject } from '@taco-run/project/testing';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cloud, cloudServices, decodeJwt, identityToken, startCloud } from '../src/index.js';

// The original's final check, reproduced on one machine: the user calls tacoclient with an
// identity token, tacoclient calls the private tacoserver through runsd and the front door.

const runsd = fileURLToPath(new URL('../../runsd/dist/runsd.js', import.meta.url));

/** The fixture project's services, with the IAM their manifests declare, as `pnpm dev:cloud` runs them. */
function cloud(projectHash: string | undefined, refusals: string[] = []): Promise<Cloud> {
  const services = cloudServices(loadProject(fixtureProject), {
    projectId: 'taco-project',
    owner: 'developer@example.com',
  });
  return startCloud({ runsd, projectHash, services, onRefusal: (line) => refusals.push(line) });
}

async function get(url: string, token?: string) {
  const response = await request(url, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  return { status: response.statusCode, text: await response.body.text() };
}

/** No token a metadata server issued may show up in what any service printed. */
function expectNoTokenIn(running: Cloud): void {
  const output = running.output().join('\n');
  const issued = [running.userMetadata, ...[...running.services.values()].map((service) => service.metadata)].flatMap(
    (metadata) => metadata.issued,
  );
  expect(issued.length).toBeGreaterThan(0);
  for (const token of issued) expect(output).not.toContain(token.split('.')[2]);
}

describe.each([
  ['hash', 'emu4tacos0', 'https://tacoserver-emu4tacos0-uc.a.run.app'],
  ['deterministic', undefined, 'https://tacoserver-123456789012.us-central1.run.app'],
])('Cloud Run on loopback, %s URLs', (_mode, projectHash, tacoserverUrl) => {
  let running: Cloud;
  const refusals: string[] = [];

  beforeAll(async () => {
    running = await cloud(projectHash, refusals);
  });

  afterAll(async () => {
    const exits = await Promise.all([...running.services.values()].map((service) => service.process.stop()));
    expect(exits).toEqual([0, 0]);
    await running.close();
  });

  it('gives each service its Cloud Run URL', () => {
    expect(running.service('tacoserver').url).toBe(tacoserverUrl);
  });

  it('answers the user with a token: Sammy Sosa has consumed 2 tacos, even through a 2-request metadata outage', async () => {
    const tacoclient = running.service('tacoclient');
    const token = await running.userToken('tacoclient');
    // tacoclient's runsd has no token for tacoserver yet: its first 2 tries fail, the third succeeds.
    tacoclient.metadata.setFault({ kind: 'error', requests: 2 });
    expect(decodeJwt(token).payload).toMatchObject({ aud: tacoclient.url, email: 'developer@example.com' });
    expect(await get(tacoclient.localUrl, token)).toEqual({ status: 200, text: 'Sammy Sosa has consumed 2 tacos' });
    const line = await running
      .service('tacoserver')
      .process.waitForLine((text) => text.includes('"userAgent":"runsd version='));
    expect(JSON.parse(line)).toMatchObject({
      severity: 'INFO',
      message: 'POST /oto/TacoService.EatTaco 200',
      httpRequest: { userAgent: 'runsd version=0.1.0; taco-run-rpc/0.1.0' },
    });
    // The front door's traceparent reached tacoserver through tacoclient, and runsd gave each
    // service the project (Cloud Run does not), so the line is linked to its trace.
    expect(JSON.parse(line)['logging.googleapis.com/trace']).toMatch(/^projects\/taco-project\/traces\/[\da-f]{32}$/);
    // tacoclient's runsd asked its own metadata server for a token for tacoserver's URL, once.
    expect(running.service('tacoclient').metadata.identityRequests.get(tacoserverUrl)).toBe(1);
  });

  it('answers 401 without a token, and with a token for another audience', async () => {
    const tacoclient = running.service('tacoclient');
    refusals.length = 0;
    const none = await get(tacoclient.localUrl);
    expect(none.status).toBe(401);
    expect(none.text).toContain('<h1>Error: Unauthorized</h1>');
    const wrong = await (
      await fetch(
        `http://${running.userMetadata.host}/computeMetadata/v1/instance/service-accounts/default/identity?audience=https://elsewhere.run.app&format=full`,
        { headers: { 'metadata-flavor': 'Google' } },
      )
    ).text();
    expect((await get(tacoclient.localUrl, wrong)).status).toBe(401);
    // The front door says each refusal in one line, and never the token.
    expect(refusals.splice(0)).toEqual([
      'front door: 401 GET tacoclient /: a caller without a token',
      'front door: 401 GET tacoclient /: a token that is for another audience',
    ]);
  });

  it('answers 403 to a caller without the invoker role', async () => {
    const tacoclient = running.service('tacoclient');
    running.revoke('tacoclient', 'developer@example.com');
    try {
      const response = await get(tacoclient.localUrl, await running.userToken('tacoclient'));
      expect(response.status).toBe(403);
      expect(response.text).toContain('<h1>Error: Forbidden</h1>');
    } finally {
      running.grant('tacoclient', 'developer@example.com');
    }
  });

  it('makes tacoclient answer 502 naming permission_denied when its grant on tacoserver is removed', async () => {
    const tacoclient = running.service('tacoclient');
    running.revoke('tacoserver', tacoclient.serviceAccount);
    try {
      const response = await get(tacoclient.localUrl, await running.userToken('tacoclient'));
      expect(response.status).toBe(502);
      expect(response.text).toMatch(
        /^tacoserver \(http:\/\/tacoserver\/oto\/\) failed: permission_denied: .* answered 403 Forbidden, not an RPC response\n$/,
      );
    } finally {
      running.grant('tacoserver', tacoclient.serviceAccount);
    }
  });

  it("admits the project's owner to every service, and refuses a service along an edge no manifest declares", async () => {
    const tacoserver = running.service('tacoserver');
    const eat = (token: string) =>
      request(`${tacoserver.localUrl}/oto/TacoService.EatTaco`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Owner', tacos: ['Carnitas'] }),
      }).then(async (response) => ({ status: response.statusCode, text: await response.body.text() }));
    expect(await eat(await running.userToken('tacoserver'))).toEqual({
      status: 200,
      text: JSON.stringify({ tacoConsumptionStatus: 'Owner has consumed 1 tacos' }),
    });
    // tacoserver's own identity, calling tacoclient: tacoserver's manifest does not call it.
    const tacoclient = running.service('tacoclient');
    const token = await identityToken(tacoserver.metadata.host, tacoclient.url);
    expect(decodeJwt(token).payload).toMatchObject({ email: tacoserver.serviceAccount, aud: tacoclient.url });
    refusals.length = 0;
    const refused = await get(tacoclient.localUrl, token);
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('<h1>Error: Forbidden</h1>');
    expect(refusals.splice(0)).toEqual([
      'front door: 403 GET tacoclient /: tacoserver@taco-project.iam.gserviceaccount.com may not invoke tacoclient (a service calls another only if its service.json calls it)',
    ]);
  });

  it('has printed no token anywhere', () => {
    expectNoTokenIn(running);
  });
});

describe('a long metadata outage', () => {
  let running: Cloud;

  beforeAll(async () => {
    running = await cloud('emu4tacos0');
  });

  afterAll(() => running.close());

  it('gets a clear 503 from runsd, passed on by tacoclient, and recovers when the metadata server does', async () => {
    const tacoclient = running.service('tacoclient');
    const token = await running.userToken('tacoclient');
    tacoclient.metadata.setFault({ kind: 'error', requests: 10_000 });
    const started = Date.now();
    const failed = await get(tacoclient.localUrl, token);
    expect(failed.status).toBe(502);
    expect(failed.text).toMatch(
      /^tacoserver \(http:\/\/tacoserver\/oto\/\) failed: unavailable: http:\/\/tacoserver\/oto\/TacoService\.EatTaco answered 503 Service Unavailable, not an RPC response: runsd: could not fetch an identity token for https:\/\/tacoserver-emu4tacos0-uc\.a\.run\.app \(\d+ attempts in 5 s\): /,
    );
    // Bounded: runsd's retry window, not tacoclient's 10 s timeout.
    expect(Date.now() - started).toBeLessThan(9_000);

    tacoclient.metadata.setFault(undefined);
    expect(await get(tacoclient.localUrl, token)).toEqual({ status: 200, text: 'Sammy Sosa has consumed 2 tacos' });
    expectNoTokenIn(running);
  });
});
