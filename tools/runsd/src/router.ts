import { type HeaderMap, withRunsdHeaders } from './headers.js';
import { type Level, log } from './log.js';
import { needsToken, type Resolution, type ResolveContext, readHost, resolveName } from './resolve.js';
import type { TokenCache } from './token-cache.js';
import type { TokenSourceName } from './token-sources.js';

/** What to do with one request, decided from its host: the same answer for the preload and the proxy. */
export type Route =
  | { kind: 'passthrough' }
  | { kind: 'forward'; origin: string; headers: HeaderMap }
  | { kind: 'fail'; status: 502 | 503; message: string };

export interface RouterOptions {
  /**
   * Where short names go, or how to learn it: in the cloud, runsd starts the
   * app before the metadata server has told it the region, and the first
   * request for a short name waits for the answer. Hosts that are not short
   * names never wait. A failed answer fails the requests that needed it, and
   * the next such request asks again.
   */
  context: ResolveContext | (() => Promise<ResolveContext>);
  tokens: TokenCache;
  tokenSource: TokenSourceName;
  /** Whether a target may be sent a token at all; default: every run.app target. */
  mayReceiveToken?: (target: string) => boolean;
  /** Where the router's few lines go: runsd's stderr, or a test's list. */
  log?: (severity: Level, message: string) => void;
  /**
   * Sends requests for `*.run.app` targets to this origin instead, with the
   * real Host header and the real audience: how the local Cloud Run emulator
   * receives them without DNS tricks or root. Never set on Cloud Run.
   */
  targetOverride?: string | undefined;
}

/** A host's fixed part of a route: resolution is pure for a given context, so it is worked out once. */
type Plan =
  | { kind: 'passthrough' }
  | { kind: 'fail'; status: 502 | 503; message: string }
  | {
      kind: 'forward';
      target: string;
      origin: string;
      host: string | undefined;
      token: boolean;
      credential?: Credential;
    };

/**
 * The Authorization value for the token last used, kept so that every request
 * does not build (and undici then flatten and scan) a new kilobyte-long string.
 */
interface Credential {
  token: string;
  value: string;
}

/** Enough for every service an app calls, and bounded against an app that calls endless hosts. */
const maxPlans = 1000;

export class Router {
  readonly #options: RouterOptions;
  readonly #announced = new Set<string>();
  readonly #plans = new Map<string, Plan>();
  /** The context, or while it is on its way, how to learn it. */
  #context: RouterOptions['context'];
  #arriving: Promise<void> | undefined;

  constructor(options: RouterOptions) {
    this.#options = options;
    this.#context = options.context;
  }

  #log(severity: Level, message: string): void {
    (this.#options.log ?? log)(severity, message);
  }

  /**
   * Synchronous whenever no token has to be fetched, so a warm request costs no extra tick.
   * `headers` is the app's, in any form undici takes: they are only read for a request runsd
   * forwards, so passthrough traffic costs a map lookup and nothing else.
   */
  route(host: string, headers: unknown): Route | Promise<Route> {
    const plan = this.#plan(host);
    if (plan === undefined) return this.#afterContext(host, headers);
    if (plan.kind !== 'forward') return plan;
    const forward = (token: string | undefined): Route => ({
      kind: 'forward',
      origin: plan.origin,
      headers: withRunsdHeaders(headers, credential(plan, token), plan.host),
    });
    if (!plan.token) return forward(undefined);
    const cached = this.#options.tokens.peek(plan.target);
    if (cached !== undefined) return forward(cached);
    this.#announce(plan.target);
    return this.#options.tokens.get(plan.target).then(forward, (error: Error) => ({
      kind: 'fail',
      status: 503,
      message: `runsd: ${error.message}\n`,
    }));
  }

  #afterContext(host: string, headers: unknown): Promise<Route> {
    const learn = this.#context;
    if (typeof learn !== 'function') return Promise.resolve(this.route(host, headers));
    this.#arriving ??= learn().then(
      (context) => {
        this.#context = context;
      },
      (error: Error) => {
        this.#arriving = undefined;
        throw error;
      },
    );
    return this.#arriving.then(
      () => this.route(host, headers),
      (error: Error): Route => ({
        kind: 'fail',
        status: 503,
        message: `runsd: cannot route "${host}": ${error.message}\n`,
      }),
    );
  }

  /** The host's plan, or undefined for a short name while the context has not arrived. */
  #plan(host: string): Plan | undefined {
    let plan = this.#plans.get(host);
    if (plan !== undefined) return plan;
    const reading = readHost(host);
    let resolution: Resolution;
    if (reading.kind !== 'name') resolution = reading;
    else if (typeof this.#context !== 'function') resolution = resolveName(reading, this.#context);
    else return undefined;
    if (resolution.kind === 'passthrough') plan = resolution;
    else if (resolution.kind === 'error')
      plan = { kind: 'fail', status: 502, message: `runsd: cannot resolve "${host}": ${resolution.reason}\n` };
    else {
      const { target } = resolution;
      const override =
        this.#options.targetOverride !== undefined && target.endsWith('.run.app')
          ? this.#options.targetOverride
          : undefined;
      plan = {
        kind: 'forward',
        target,
        origin: override ?? target,
        host: override === undefined ? undefined : new URL(target).host,
        token: needsToken(target) && this.#mayReceive(target),
      };
    }
    if (this.#plans.size >= maxPlans) this.#plans.clear();
    this.#plans.set(host, plan);
    return plan;
  }

  #mayReceive(target: string): boolean {
    if (this.#options.mayReceiveToken?.(target) ?? true) return true;
    this.#log(
      'WARNING',
      `no identity token for ${target}: your gcloud identity token is not bound to one service, so it goes only to the origins in RUNSD_USER_TOKEN_ORIGINS; list ${new URL(target).origin} there if you trust it, or set RUNSD_IMPERSONATE to a service account for tokens bound to each service`,
    );
    return false;
  }

  #announce(target: string): void {
    if (this.#announced.has(target)) return;
    this.#announced.add(target);
    if (this.#options.tokenSource === 'gcloud') {
      this.#log(
        'WARNING',
        `sending your own gcloud identity token to ${target}: it is not bound to that service, so whoever runs it could call your other private services as you until it expires (an hour); RUNSD_IMPERSONATE=<service account> gets tokens bound to each service instead`,
      );
    } else this.#log('INFO', `identity tokens for ${target} come from ${this.#options.tokenSource}`);
  }
}

function credential(plan: Plan & { kind: 'forward' }, token: string | undefined): string | undefined {
  if (token === undefined) return undefined;
  if (plan.credential?.token !== token) plan.credential = { token, value: `Bearer ${token}` };
  return plan.credential.value;
}
