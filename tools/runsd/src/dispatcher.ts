import type { Dispatcher } from 'undici';
import { ComposedDispatcher, flatten } from './compose.js';
import { respondText } from './respond.js';
import type { Route, Router } from './router.js';

const statusTexts = { 502: 'Bad Gateway', 503: 'Service Unavailable' } as const;

/**
 * The in-process path: installed as undici's global dispatcher by the
 * preload, it sees every request made with fetch, undici or the generated
 * client. Short names are rewritten to their target and get a token; all
 * else goes to the inner dispatcher as it came, so there is no extra hop.
 *
 * It speaks undici's Dispatcher contract (`dispatch`, `close`, `destroy`)
 * without extending undici's class, so that the preload can install it
 * before undici itself is loaded: the inner Agent may be a promise, and
 * loading it is then the first request's cost, not every cold start's.
 */
export class RunsdDispatcher {
  readonly #router: Router;
  #inner: Dispatcher | undefined;
  readonly #loadInner: () => Promise<Dispatcher>;
  #loading: Promise<Dispatcher> | undefined;

  constructor(router: Router, inner: Dispatcher | (() => Promise<Dispatcher>)) {
    this.#router = router;
    if (typeof inner === 'function') {
      this.#loadInner = inner;
    } else {
      this.#inner = inner;
      this.#loadInner = () => Promise.resolve(inner);
    }
  }

  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const route =
      options.origin === undefined
        ? ({ kind: 'passthrough' } as const)
        : this.#router.route(hostOf(options.origin), options.headers);
    const inner = this.#inner;
    if (route instanceof Promise || inner === undefined) {
      Promise.all([route, this.#ready()]).then(
        ([resolved, ready]) => this.#send(ready, resolved, options, handler),
        (error: Error) => respondText(handler, 502, `runsd: ${error.message}\n`, statusTexts[502]),
      );
      return true;
    }
    return this.#send(inner, route, options, handler);
  }

  #ready(): Promise<Dispatcher> {
    if (this.#inner !== undefined) return Promise.resolve(this.#inner);
    this.#loading ??= this.#loadInner().then((inner) => (this.#inner = inner));
    return this.#loading;
  }

  #send(
    inner: Dispatcher,
    route: Route,
    options: Dispatcher.DispatchOptions,
    handler: Dispatcher.DispatchHandler,
  ): boolean {
    if (route.kind === 'passthrough') return inner.dispatch(options, handler);
    if (route.kind === 'fail') {
      respondText(handler, route.status, route.message, statusTexts[route.status]);
      return true;
    }
    return inner.dispatch({ ...options, origin: route.origin, headers: route.headers }, handler);
  }

  async close(): Promise<void> {
    await this.#inner?.close();
  }

  async destroy(): Promise<void> {
    await this.#inner?.destroy();
  }

  /** undici's interceptors over runsd's routing: see ComposedDispatcher. */
  compose(...args: unknown[]): ComposedDispatcher {
    return new ComposedDispatcher(this, flatten(args), { now: () => this.#inner, load: () => this.#ready() });
  }

  /** For APIs typed to undici's Dispatcher (tests, undici's `dispatcher` option): the contract it keeps. */
  asDispatcher(): Dispatcher {
    return this as unknown as Dispatcher;
  }
}

const hosts = new Map<string, string>();

/** The host of an origin, parsed once per origin: every request carries one and URL parsing is not free. */
function hostOf(origin: string | URL): string {
  if (typeof origin !== 'string') return origin.host;
  let host = hosts.get(origin);
  if (host === undefined) {
    host = new URL(origin).host;
    if (hosts.size >= 1000) hosts.clear();
    hosts.set(origin, host);
  }
  return host;
}
