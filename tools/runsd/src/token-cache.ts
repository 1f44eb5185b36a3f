/** Fetches a fresh identity token for an audience (the metadata server, gcloud, or a fixed value). */
export type TokenSource = (audience: string) => Promise<string>;

export interface TokenCacheOptions {
  source: TokenSource;
  /** The clock, in ms; tests move it. */
  now?: () => number;
  /** A token is not handed out closer than this to its `exp`. Default 5 minutes. */
  expiryMargin?: number;
  /** Within this much before the margin, a fetch starts in the background. Default 5 minutes. */
  refreshAhead?: number;
  /** How long one failing fetch is retried before the caller gets the error. Default 5 s. */
  retryFor?: number;
  /** The first backoff between attempts, doubled each time. Default 100 ms. */
  initialDelay?: number;
  /** One attempt's limit: a metadata server that never answers must not hold the app. Default 2 s. */
  attemptTimeout?: number;
  /** Told about background refresh failures (the cached token is still good then). */
  onBackgroundError?: (audience: string, error: Error) => void;
}

export class TokenError extends Error {
  override readonly name = 'TokenError';
}

interface Entry {
  token: string;
  /** When it stops being handed out: `exp` less the margin, in ms. */
  usableUntil: number;
}

/**
 * Identity tokens per audience. Each is fetched once and reused until 5
 * minutes before it expires; concurrent callers share one fetch; a token
 * nearing that point is refreshed in the background so callers never wait
 * on the metadata server once warm. Failures are retried with backoff for a
 * bounded time and never cached, so the next call tries again.
 */
export class TokenCache {
  readonly #entries = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<string>>();
  readonly #options: Required<Omit<TokenCacheOptions, 'onBackgroundError'>> &
    Pick<TokenCacheOptions, 'onBackgroundError'>;

  constructor(options: TokenCacheOptions) {
    this.#options = {
      now: Date.now,
      expiryMargin: 5 * 60_000,
      refreshAhead: 5 * 60_000,
      retryFor: 5_000,
      initialDelay: 100,
      attemptTimeout: 2_000,
      ...options,
    };
  }

  /** A usable cached token, without waiting; starts a background refresh when it is getting old. */
  peek(audience: string): string | undefined {
    const entry = this.#entries.get(audience);
    if (entry === undefined) return undefined;
    const now = this.#options.now();
    if (now >= entry.usableUntil) return undefined;
    if (now >= entry.usableUntil - this.#options.refreshAhead && !this.#inflight.has(audience)) {
      this.#fetch(audience).catch((error: Error) => this.#options.onBackgroundError?.(audience, error));
    }
    return entry.token;
  }

  async get(audience: string): Promise<string> {
    return this.peek(audience) ?? this.#fetch(audience);
  }

  #fetch(audience: string): Promise<string> {
    const running = this.#inflight.get(audience);
    if (running !== undefined) return running;
    const fetching = this.#fetchWithRetry(audience).finally(() => this.#inflight.delete(audience));
    this.#inflight.set(audience, fetching);
    return fetching;
  }

  async #fetchWithRetry(audience: string): Promise<string> {
    const { now, retryFor, initialDelay } = this.#options;
    const giveUpAt = now() + retryFor;
    let delay = initialDelay;
    for (let attempt = 1; ; attempt++) {
      try {
        const token = await this.#attempt(audience);
        this.#entries.set(audience, { token, usableUntil: expiresAt(token, now()) - this.#options.expiryMargin });
        return token;
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        if (now() + delay >= giveUpAt) {
          throw new TokenError(
            `could not fetch an identity token for ${audience} (${attempt} attempts in ${retryFor / 1000} s): ${reason}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay *= 2;
      }
    }
  }

  async #attempt(audience: string): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${this.#options.attemptTimeout} ms`)),
        this.#options.attemptTimeout,
      );
    });
    try {
      const token = await Promise.race([this.#options.source(audience), timeout]);
      if (typeof token !== 'string' || token.trim() === '') throw new Error('the token source returned no token');
      return token.trim();
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * When a JWT expires, from its `exp` claim, in ms. A token that is not a JWT
 * (a fixed debugging token, say) is trusted for an hour, as Google's are.
 */
export function expiresAt(token: string, now: number): number {
  const payload = token.split('.')[1];
  if (payload !== undefined) {
    try {
      const { exp } = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown };
      if (typeof exp === 'number' && Number.isFinite(exp)) return exp * 1000;
    } catch {
      // Not a JWT after all.
    }
  }
  return now + 60 * 60_000;
}
