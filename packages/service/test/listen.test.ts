import { startService } from '@taco-run/project/process';
import { connects, fixtureBundle, nonLoopbackAddress } from '@taco-run/project/testing';
import { describe, expect, it } from 'vitest';

// Where a service listens: off Cloud Run, on loopback only, so that a laptop's "private" service is
// never reached from the network around runsd or the front door; on Cloud Run (K_SERVICE set), on
// every interface, where Cloud Run sends its traffic; HOST, when set, says otherwise.

const outside = nonLoopbackAddress();

describe.skipIf(outside === undefined)(`a service, seen from ${outside ?? 'another interface (none here)'}`, () => {
  it.each([
    ['off Cloud Run', 'ECONNREFUSED', {}],
    ['on Cloud Run', 'connected', { K_SERVICE: 'tacoserver' }],
    ['with HOST=0.0.0.0', 'connected', { HOST: '0.0.0.0' }],
    ['on Cloud Run with HOST=127.0.0.1', 'ECONNREFUSED', { K_SERVICE: 'tacoserver', HOST: '127.0.0.1' }],
  ])('%s: a connection from there is %s', async (_case, outcome, env: Record<string, string>) => {
    const service = await startService(fixtureBundle('tacoserver'), { LOG_LEVEL: 'info', ...env });
    try {
      expect(await connects('127.0.0.1', service.port)).toBe('connected');
      expect(await connects(outside as string, service.port)).toBe(outcome);
    } finally {
      await service.stop();
    }
  });
});
