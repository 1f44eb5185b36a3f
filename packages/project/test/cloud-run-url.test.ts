import { describe, expect, it } from 'vitest';
import { cloudRunUrl, serviceAccountId } from '../src/cloud-run-url.js';
import { isKnownRegion, regionCodes } from '../src/regions.js';

const here = { service: 'orders', region: 'us-central1', projectNumber: '123456789012' };

describe('cloudRunUrl', () => {
  it('gives the deterministic form without a cloud hash', () => {
    expect(cloudRunUrl(here)).toEqual({ url: 'https://orders-123456789012.us-central1.run.app' });
  });

  it('gives the hash form, with the region code, when the hash is known', () => {
    expect(cloudRunUrl({ ...here, region: 'europe-west1', projectHash: 'abcdef7gh' })).toEqual({
      url: 'https://orders-abcdef7gh-ew.a.run.app',
    });
  });

  it('says why when a region has no code for the hash form', () => {
    expect(cloudRunUrl({ ...here, region: 'mars-west1', projectHash: 'abcdef7gh' })).toEqual({
      error:
        'unknown region "mars-west1": no region code for the hash URL; unset CLOUD_RUN_PROJECT_HASH to use orders-<project number>.mars-west1.run.app',
    });
  });

  it("refuses a label over DNS's 63 characters and takes one of exactly 63", () => {
    const service = 'a'.repeat(50);
    expect(cloudRunUrl({ ...here, service })).toEqual({ url: `https://${service}-123456789012.us-central1.run.app` });
    expect(cloudRunUrl({ ...here, service: `${service}bc` })).toEqual({
      error: `"${service}bc-123456789012" is 65 characters, over DNS's 63-character label limit`,
    });
  });
});

describe('regionCodes', () => {
  it('has a two-letter code per region, each used once', () => {
    const codes = Object.values(regionCodes);
    expect(codes.every((code) => /^[a-z]{2}$/.test(code))).toBe(true);
    expect(new Set(codes).size).toBe(codes.length);
    expect(isKnownRegion('us-central1')).toBe(true);
    expect(isKnownRegion('toString')).toBe(false);
  });
});

describe('serviceAccountId', () => {
  it('is the service name when IAM takes it, and a 6-to-30-character id otherwise', () => {
    expect(serviceAccountId('tacoserver')).toBe('tacoserver');
    expect(serviceAccountId('api')).toBe('api-run-sa');
    expect(serviceAccountId('a')).toBe('a-run-sa');
    const long = serviceAccountId('a-very-long-service-name-for-the-orders');
    expect(long).toMatch(/^a-very-long-service-name-[\da-f]{4}$/);
    expect(serviceAccountId('a-very-long-service-name-for-the-billing')).not.toBe(long);
    for (const id of ['tacoserver', 'api', 'a', 'x'.repeat(49)].map(serviceAccountId)) {
      expect(id).toMatch(/^[a-z][a-z\d-]{4,28}[a-z\d]$/);
    }
  });
});
