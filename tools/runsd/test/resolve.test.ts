import { regionCodes } from '@taco-run/project/regions';
import { describe, expect, it } from 'vitest';
import { needsToken, type ResolveContext, resolveHost } from '../src/resolve.js';

const cloud: ResolveContext = { mode: 'cloud', region: 'us-central1', projectNumber: '123456789012' };
const hashed: ResolveContext = { ...cloud, projectHash: 'abcdef7gh' };
const local: ResolveContext = {
  mode: 'local',
  services: {
    tacoserver: 'http://localhost:8080',
    'tacoserver.europe-west1': 'http://localhost:9090',
    remote: 'https://remote-123.us-central1.run.app/',
  },
};
// 55 letters and a 13-character suffix: 68, over the 63 a DNS label may have (exactly 63 is fine, see below).
const long = 'a'.repeat(55);

describe('resolveHost', () => {
  it.each<[string, ResolveContext, ReturnType<typeof resolveHost>]>([
    // The deterministic form, from the metadata server's project number and region.
    [
      'tacoserver',
      cloud,
      { kind: 'service', service: 'tacoserver', target: 'https://tacoserver-123456789012.us-central1.run.app' },
    ],
    [
      'TacoServer',
      cloud,
      { kind: 'service', service: 'tacoserver', target: 'https://tacoserver-123456789012.us-central1.run.app' },
    ],
    [
      'tacoserver:80',
      cloud,
      { kind: 'service', service: 'tacoserver', target: 'https://tacoserver-123456789012.us-central1.run.app' },
    ],
    [
      'tacoserver.',
      cloud,
      { kind: 'service', service: 'tacoserver', target: 'https://tacoserver-123456789012.us-central1.run.app' },
    ],
    [
      'tacoserver.europe-west1',
      cloud,
      { kind: 'service', service: 'tacoserver', target: 'https://tacoserver-123456789012.europe-west1.run.app' },
    ],
    [
      'tacoserver.asia-east1.run.internal',
      cloud,
      { kind: 'service', service: 'tacoserver', target: 'https://tacoserver-123456789012.asia-east1.run.app' },
    ],
    [
      'TACOSERVER.EUROPE-WEST1.RUN.INTERNAL:8080',
      cloud,
      { kind: 'service', service: 'tacoserver', target: 'https://tacoserver-123456789012.europe-west1.run.app' },
    ],
    // The hash form, with the region's code.
    [
      'tacoserver',
      hashed,
      { kind: 'service', service: 'tacoserver', target: 'https://tacoserver-abcdef7gh-uc.a.run.app' },
    ],
    [
      'tacoserver.europe-west1',
      hashed,
      { kind: 'service', service: 'tacoserver', target: 'https://tacoserver-abcdef7gh-ew.a.run.app' },
    ],
    [
      'tacoserver.me-central2.run.internal',
      hashed,
      { kind: 'service', service: 'tacoserver', target: 'https://tacoserver-abcdef7gh-wx.a.run.app' },
    ],
    // Names that cannot be resolved answer why.
    [
      'tacoserver.mars-west1.run.internal',
      cloud,
      { kind: 'error', reason: 'unknown region "mars-west1" in "tacoserver.mars-west1.run.internal"' },
    ],
    [
      'a.b.us-central1.run.internal',
      cloud,
      {
        kind: 'error',
        reason: '"a.b.us-central1.run.internal" has too many labels; use <service>.<region>.run.internal',
      },
    ],
    [
      'us-central1.run.internal',
      cloud,
      { kind: 'error', reason: '"us-central1.run.internal" has too many labels; use <service>.<region>.run.internal' },
    ],
    [
      long,
      cloud,
      { kind: 'error', reason: `"${long}-123456789012" is 68 characters, over DNS's 63-character label limit` },
    ],
    [
      long,
      hashed,
      { kind: 'error', reason: `"${long}-abcdef7gh-uc" is 68 characters, over DNS's 63-character label limit` },
    ],
    [
      'a'.repeat(50),
      cloud,
      {
        kind: 'service',
        service: 'a'.repeat(50),
        target: `https://${'a'.repeat(50)}-123456789012.us-central1.run.app`,
      },
    ],
    // Never services.
    ['localhost', cloud, { kind: 'passthrough' }],
    ['localhost:8080', cloud, { kind: 'passthrough' }],
    ['metadata', cloud, { kind: 'passthrough' }],
    ['metadata.google.internal', cloud, { kind: 'passthrough' }],
    ['127.0.0.1:8080', cloud, { kind: 'passthrough' }],
    ['[::1]:8080', cloud, { kind: 'passthrough' }],
    ['example.com', cloud, { kind: 'passthrough' }],
    ['api.internal', cloud, { kind: 'passthrough' }],
    ['www.googleapis.com', cloud, { kind: 'passthrough' }],
    ['tacoserver-123.us-central1.run.app', cloud, { kind: 'passthrough' }],
    ['db_host', cloud, { kind: 'passthrough' }],
    // Local mode maps names to URLs.
    ['tacoserver', local, { kind: 'service', service: 'tacoserver', target: 'http://localhost:8080' }],
    ['tacoserver.europe-west1', local, { kind: 'service', service: 'tacoserver', target: 'http://localhost:9090' }],
    [
      'tacoserver.asia-east1.run.internal',
      local,
      { kind: 'service', service: 'tacoserver', target: 'http://localhost:8080' },
    ],
    ['remote', local, { kind: 'service', service: 'remote', target: 'https://remote-123.us-central1.run.app' }],
    [
      'burritos',
      local,
      {
        kind: 'error',
        reason:
          'no local address for "burritos"; map it with RUNSD_SERVICES="burritos=http://localhost:<port>" or in runsd.services.json',
      },
    ],
    // Names of Object.prototype are unknown names like any other, not a crash.
    ...['constructor', 'tostring', 'hasownproperty'].map(
      (name): [string, ResolveContext, ReturnType<typeof resolveHost>] => [
        name,
        local,
        {
          kind: 'error',
          reason: `no local address for "${name}"; map it with RUNSD_SERVICES="${name}=http://localhost:<port>" or in runsd.services.json`,
        },
      ],
    ),
    [
      'tacoserver.mars-west1.run.internal',
      local,
      { kind: 'error', reason: 'unknown region "mars-west1" in "tacoserver.mars-west1.run.internal"' },
    ],
    ['localhost', local, { kind: 'passthrough' }],
  ])('%s (%s mode)', (host, context, expected) => {
    expect(resolveHost(host, context)).toEqual(expected);
  });

  it('uses the hash form for every region in the table', () => {
    for (const [region, code] of Object.entries(regionCodes)) {
      expect(resolveHost(`svc.${region}`, hashed)).toEqual({
        kind: 'service',
        service: 'svc',
        target: `https://svc-abcdef7gh-${code}.a.run.app`,
      });
    }
  });

  it('falls back to no answer for a region without a code only in the hash form', () => {
    const unlisted: ResolveContext = { mode: 'cloud', region: 'antarctica-south1', projectNumber: '42' };
    expect(resolveHost('svc', unlisted)).toEqual({
      kind: 'service',
      service: 'svc',
      target: 'https://svc-42.antarctica-south1.run.app',
    });
    expect(resolveHost('svc', { ...unlisted, projectHash: 'h' })).toMatchObject({
      kind: 'error',
      reason: expect.stringContaining('unknown region "antarctica-south1"'),
    });
  });
});

describe('the region-code table', () => {
  it('has a distinct two-letter code for each region', () => {
    const codes = Object.values(regionCodes);
    expect(codes.every((code) => /^[a-z]{2}$/.test(code))).toBe(true);
    expect(new Set(codes).size).toBe(codes.length);
    expect(Object.keys(regionCodes).every((region) => /^[a-z]+-[a-z]+\d+$/.test(region))).toBe(true);
  });

  it("keeps every row of the original runsd's table", () => {
    expect(regionCodes).toMatchObject({
      'asia-east1': 'de',
      'asia-east2': 'df',
      'asia-northeast1': 'an',
      'asia-northeast2': 'dt',
      'asia-northeast3': 'du',
      'asia-south1': 'el',
      'asia-southeast1': 'as',
      'asia-southeast2': 'et',
      'australia-southeast1': 'ts',
      'europe-north1': 'lz',
      'europe-west1': 'ew',
      'europe-west2': 'nw',
      'europe-west3': 'ey',
      'europe-west4': 'ez',
      'europe-west6': 'oa',
      'northamerica-northeast1': 'nn',
      'southamerica-east1': 'rj',
      'us-central1': 'uc',
      'us-east1': 'ue',
      'us-east4': 'uk',
      'us-west1': 'uw',
      'us-west2': 'wl',
      'us-west3': 'wm',
      'us-west4': 'wn',
    });
    expect(Object.keys(regionCodes)).toHaveLength(43);
  });
});

describe('needsToken', () => {
  it.each([
    ['https://tacoserver-abc-uc.a.run.app', true],
    ['https://tacoserver-123.us-central1.run.app', true],
    ['http://localhost:8080', false],
    ['http://tacoserver-abc-uc.a.run.app', false],
    ['https://example.com', false],
  ])('%s → %s', (target, expected) => {
    expect(needsToken(target)).toBe(expected);
  });
});
