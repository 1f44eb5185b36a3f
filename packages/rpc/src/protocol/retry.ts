import type { RpcError } from '../error.js';

export interface RetryOptions {
  /** Attempts in all, the first included. Default 3; 1 turns retries off. */
  maxAttempts?: number;
  /** The first backoff, in ms. Default 50. */
  initialDelay?: number;
  /** No backoff is longer than this, in ms, Retry-After included. Default 2000. */
  maxDelay?: number;
}

export interface RetryPolicy {
  maxAttempts: number;
  initialDelay: number;
  maxDelay: number;
}

export function retryPolicy(options: RetryOptions | false | undefined): RetryPolicy {
  if (options === false) return { maxAttempts: 1, initialDelay: 0, maxDelay: 0 };
  return {
    maxAttempts: Math.max(1, options?.maxAttempts ?? 3),
    initialDelay: options?.initialDelay ?? 50,
    maxDelay: options?.maxDelay ?? 2000,
  };
}

/**
 * A retry must not run a call twice. A call its transport knows was never
 * sent (a refused connection) may be retried by every method; anything after
 * the first byte left (a reset, a 503) may have reached the handler, so only
 * `@idempotent` methods retry it. `fetch` cannot tell the two apart, so under
 * it only `@idempotent` methods retry at all.
 */
export function isRetryable(error: RpcError, idempotent: boolean, neverSent: boolean): boolean {
  return neverSent || (idempotent && error.code === 'unavailable');
}

/** Capped exponential backoff with full jitter, unless the server said when to come back. */
export function backoff(policy: RetryPolicy, attempt: number, retryAfterMs: number | undefined): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.maxDelay);
  const ceiling = Math.min(policy.maxDelay, policy.initialDelay * 2 ** (attempt - 1));
  return Math.round(Math.random() * ceiling);
}

/** Retry-After is seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | string[] | null | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text === null || text.trim() === '') return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
