import { describe, expect, it } from 'vitest';
import { expiresAt, TokenCache, TokenError } from '../src/token-cache.js';

/** An unsigned JWT with the given exp (seconds): the cache only reads the claim. */
function jwt(exp: number, id = 'x'): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256' })}.${part({ exp, id })}.signature`;
}

/** A token source that counts calls and can be told to fail. */
function source(expSeconds: () => number) {
  const state = { calls: 0, failures: 0, delayMs: 0 };
  const fetch = async (audience: string) => {
    state.calls++;
    if (state.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, state.delayMs));
    if (state.failures > 0) {
      state.failures--;
      throw new Error('metadata server said 500');
    }
    return jwt(expSeconds(), `${audience}#${state.calls}`);
  };
  return { state, fetch };
}

describe('TokenCache', () => {
  it('fetches once per audience and reuses the token', async () => {
    let now = 1_000_000_000_000;
    const { state, fetch } = source(() => now / 1000 + 3600);
    const cache = new TokenCache({ source: fetch, now: () => now });
    const first = await cache.get('https://a.run.app');
    now += 30 * 60_000;
    expect(await cache.get('https://a.run.app')).toBe(first);
    await cache.get('https://b.run.app');
    expect(state.calls).toBe(2);
  });

  it('makes one fetch for 200 concurrent first calls', async () => {
    const { state, fetch } = source(() => Date.now() / 1000 + 3600);
    state.delayMs = 20;
    const cache = new TokenCache({ source: fetch });
    const tokens = await Promise.all(Array.from({ length: 200 }, () => cache.get('https://a.run.app')));
    expect(state.calls).toBe(1);
    expect(new Set(tokens).size).toBe(1);
  });

  it('stops handing out a token 5 minutes before it expires', async () => {
    let now = 1_000_000_000_000;
    const { state, fetch } = source(() => now / 1000 + 3600);
    const cache = new TokenCache({ source: fetch, now: () => now });
    const first = await cache.get('aud');
    now += 55 * 60_000; // exactly 5 minutes before exp
    expect(cache.peek('aud')).toBeUndefined();
    const second = await cache.get('aud');
    expect(second).not.toBe(first);
    expect(state.calls).toBe(2);
  });

  it('refreshes in the background ahead of that point, while still serving the current token', async () => {
    let now = 1_000_000_000_000;
    const { state, fetch } = source(() => now / 1000 + 3600);
    const cache = new TokenCache({ source: fetch, now: () => now });
    const first = await cache.get('aud');
    now += 51 * 60_000; // 9 minutes before exp: inside the refresh window
    expect(cache.peek('aud')).toBe(first);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(state.calls).toBe(2);
    const refreshed = cache.peek('aud');
    expect(refreshed).not.toBe(first);
    expect(refreshed).toBeDefined();
  });

  it('retries failures with backoff and succeeds when the source recovers', async () => {
    const { state, fetch } = source(() => Date.now() / 1000 + 3600);
    state.failures = 2;
    const cache = new TokenCache({ source: fetch, initialDelay: 5 });
    await expect(cache.get('aud')).resolves.toMatch(/^ey/);
    expect(state.calls).toBe(3);
  });

  it('gives up within the retry window with an error naming the audience, and tries afresh next time', async () => {
    const { state, fetch } = source(() => Date.now() / 1000 + 3600);
    state.failures = 1000;
    const cache = new TokenCache({ source: fetch, initialDelay: 10, retryFor: 100 });
    const started = Date.now();
    const error = await cache.get('https://a.run.app').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TokenError);
    expect((error as Error).message).toMatch(
      /^could not fetch an identity token for https:\/\/a\.run\.app \(\d+ attempts in 0\.1 s\): metadata server said 500$/,
    );
    expect(Date.now() - started).toBeLessThan(1000);
    state.failures = 0;
    await expect(cache.get('https://a.run.app')).resolves.toMatch(/^ey/);
  });

  it('times out an attempt that never answers', async () => {
    const cache = new TokenCache({
      source: () => new Promise(() => {}),
      attemptTimeout: 20,
      retryFor: 50,
      initialDelay: 5,
    });
    await expect(cache.get('aud')).rejects.toThrow(/no answer within 20 ms/);
  });
});

describe('expiresAt', () => {
  it("reads a JWT's exp", () => {
    expect(expiresAt(jwt(2_000_000_000), 0)).toBe(2_000_000_000_000);
  });

  it('gives a token that is not a JWT an hour', () => {
    expect(expiresAt('opaque-debug-token', 5)).toBe(5 + 3_600_000);
  });
});
