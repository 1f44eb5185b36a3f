import { type HeaderMap, withRunsdHeaders } from './headers.js';
import { log } from './log.js';
import { type ResolveContext, needsToken, resolveHost } from './resolve.js';
import type { TokenCache } from './token-cache.js';
import type { TokenSourceName } from './token-sources.js';

/** What to do with one request, decided from its host: the same answer for the preload and the proxy. */
export type Route =
  | { kind: 'passthrough' }
  | { kind: 'forward'; origin: string; headers: HeaderMap }
  | { kind: 'fail'; status: number; message: string };

export interface RouterOptions {
  context: ResolveContext;
  tokens: TokenCache;
  tokenSource: TokenSourceName;
  /**
   * Sends requests for `*.run.app` targets to this origin instead, with the
   * real Host header and the real audience: how the local Cloud Run emulator
   * receives them without DNS tricks or root. Never set on Cloud Run.
   */
  targetOverride?: string | undefined;
}

export class Router {
  readonly #options: RouterOptions;
  readonly #announced = new Set<string>();

  constructor(options: RouterOptions) {
    this.#options = options;
  }

  /** Synchronous whenever no token has to be fetched, so a warm request costs no extra tick. */
  route(host: string, headers: HeaderMap): Route | Promise<Route> {
    const resolution = resolveHost(host, this.#options.context);
    if (resolution.kind === 'passthrough') return resolution;
    if (resolution.kind === 'error') {
      return { kind: 'fail', status: 502, message: `runsd: cannot resolve "${host}": ${resolution.reason}\n` };
    }
    const { target } = resolution;
    const override = this.#options.targetOverride !== undefined && target.endsWith('.run.app') ? this.#options.targetOverride : undefined;
    const forward = (token: string | undefined): Route => ({
      kind: 'forward',
      origin: override ?? target,
      headers: withRunsdHeaders(headers, token, override === undefined ? undefined : new URL(target).host),
    });
    if (!needsToken(target)) return forward(undefined);
    const cached = this.#options.tokens.peek(target);
    if (cached !== undefined) return forward(cached);
    this.#announce(target);
    return this.#options.tokens.get(target).then(forward, (error: Error) => ({
      kind: 'fail',
      status: 503,
      message: `runsd: ${error.message}\n`,
    }));
  }

  #announce(target: string): void {
    if (this.#announced.has(target)) return;
    this.#announced.add(target);
    log('INFO', `identity tokens for ${target} come from ${this.#options.tokenSource}`);
  }
}
