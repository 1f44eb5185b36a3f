import { type MetadataServer, startMetadataServer } from '@taco-run/cloud-emulator';
import { listenOnLoopback } from '@taco-run/rpc/testing';
import Fastify, { type FastifyInstance } from 'fastify';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunsdDispatcher } from '../../tools/runsd/src/dispatcher.js';
import { Router } from '../../tools/runsd/src/router.js';
import { TokenCache } from '../../tools/runsd/src/token-cache.js';
import { metadataTokens } from '../../tools/runsd/src/token-sources.js';

// Case 3: the metadata server slow, failing and down, as runsd's in-process path sees it.
// The app gets a 503 within the retry window, never a hang, and runsd recovers with the server.

let metadata: MetadataServer;
let target: FastifyInstance;
let targetOrigin: string;
const saved = process.env.GCE_METADATA_HOST;
const retryFor = 1_000;

beforeAll(async () => {
  metadata = await startMetadataServer();
  process.env.GCE_METADATA_HOST = metadata.host;
  target = Fastify();
  target.get('/', async () => 'ok');
  targetOrigin = await listenOnLoopback(target);
});

afterAll(async () => {
  if (saved === undefined) delete process.env.GCE_METADATA_HOST;
  else process.env.GCE_METADATA_HOST = saved;
  await Promise.all([metadata.close(), target.close()]);
});

/** A fresh runsd path each time: no token cached yet, so the fault is met head-on. */
function dispatcher() {
  const router = new Router({
    context: { mode: 'cloud', region: 'us-central1', projectNumber: '1', projectHash: 'faults' },
    tokens: new TokenCache({ source: metadataTokens, retryFor, initialDelay: 20, attemptTimeout: 250 }),
    tokenSource: 'metadata',
    targetOverride: targetOrigin,
  });
  return new RunsdDispatcher(router, new Agent()).asDispatcher();
}

describe.each([
  ['slow', { kind: 'slow', delayMs: 2_000, requests: 1_000 }],
  ['failing with 500', { kind: 'error', requests: 1_000 }],
  ['down', { kind: 'down', requests: 1_000 }],
] as const)('a metadata server that is %s', (_name, fault) => {
  it('costs the app a bounded 503 that says why, and runsd recovers when it does', async () => {
    const through = dispatcher();
    metadata.setFault(fault);
    const started = Date.now();
    const failed = await request('http://tacoserver/', { dispatcher: through });
    const elapsed = Date.now() - started;
    expect(failed.statusCode).toBe(503);
    expect(await failed.body.text()).toMatch(
      /^runsd: could not fetch an identity token for https:\/\/tacoserver-faults-uc\.a\.run\.app \(\d+ attempts in 1 s\): /,
    );
    // The retry window plus at most one attempt's timeout.
    expect(elapsed).toBeLessThan(retryFor + 500);

    metadata.setFault(undefined);
    const recovered = await request('http://tacoserver/', { dispatcher: through });
    expect(recovered.statusCode).toBe(200);
    expect(await recovered.body.text()).toBe('ok');
    await through.close();
  });
});
