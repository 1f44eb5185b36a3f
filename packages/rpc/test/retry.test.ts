import { describe, expect, it } from 'vitest';
import { connectionCode } from '../src/client/transport-errors.js';
import { codeForStatus, codeStatus, isCode } from '../src/codes.js';
import { backoff, parseRetryAfter, retryPolicy } from '../src/protocol/retry.js';

describe('the code table', () => {
  it('has the statuses of ../shared/DESIGN.md', () => {
    expect(codeStatus).toMatchObject({
      invalid_argument: 400,
      malformed: 400,
      unauthenticated: 401,
      permission_denied: 403,
      not_found: 404,
      bad_route: 404,
      method_not_allowed: 405,
      already_exists: 409,
      aborted: 409,
      failed_precondition: 412,
      payload_too_large: 413,
      unsupported_media_type: 415,
      resource_exhausted: 429,
      internal: 500,
      unknown: 500,
      unimplemented: 501,
      unavailable: 503,
      deadline_exceeded: 504,
    });
  });

  it.each([
    [401, 'unauthenticated'],
    [403, 'permission_denied'],
    [404, 'not_found'],
    [429, 'resource_exhausted'],
    [502, 'unavailable'],
    [503, 'unavailable'],
    [504, 'unavailable'],
    [400, 'unknown'],
    [500, 'unknown'],
  ])('maps a bare status %i to %s', (status, code) => {
    expect(codeForStatus(status)).toBe(code);
  });

  it('knows its own codes and nothing inherited', () => {
    expect(isCode('unavailable')).toBe(true);
    expect(isCode('toString')).toBe(false);
    expect(isCode(503)).toBe(false);
  });
});

describe('backoff', () => {
  const policy = retryPolicy({ initialDelay: 100, maxDelay: 1000 });

  it('grows exponentially with full jitter, under the cap', () => {
    for (let i = 0; i < 200; i++) {
      expect(backoff(policy, 1, undefined)).toBeLessThanOrEqual(100);
      expect(backoff(policy, 3, undefined)).toBeLessThanOrEqual(400);
      expect(backoff(policy, 10, undefined)).toBeLessThanOrEqual(1000);
    }
  });

  it('follows Retry-After, capped at maxDelay', () => {
    expect(backoff(policy, 1, 300)).toBe(300);
    expect(backoff(policy, 1, 60_000)).toBe(1000);
  });

  it('turns retries off with false', () => {
    expect(retryPolicy(false).maxAttempts).toBe(1);
    expect(retryPolicy(undefined).maxAttempts).toBe(3);
  });
});

describe('Retry-After', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    const now = Date.parse('2026-11-25T12:00:00Z');
    expect(parseRetryAfter('Wed, 25 Nov 2026 12:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});

describe('connectionCode', () => {
  it('finds the syscall code under undici wrappers', () => {
    const syscall = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    const wrapper = Object.assign(new TypeError('fetch failed', { cause: syscall }), { code: 'UND_ERR_SOCKET' });
    expect(connectionCode(wrapper)).toBe('ECONNREFUSED');
    expect(connectionCode(Object.assign(new Error('closed'), { code: 'UND_ERR_SOCKET' }))).toBe('UND_ERR_SOCKET');
    expect(connectionCode(new Error('plain'))).toBeUndefined();
  });
});
