import { Agent, Dispatcher } from 'undici';
import { toHeaderMap } from './headers.js';
import { respondText } from './respond.js';
import type { Route, Router } from './router.js';

const statusTexts: Record<number, string> = { 502: 'Bad Gateway', 503: 'Service Unavailable' };

/**
 * The in-process path: installed as undici's global dispatcher by the
 * preload, it sees every request made with fetch, undici or the generated
 * client. Short names are rewritten to their target and get a token; all
 * else goes to the inner dispatcher as it came, so there is no extra hop.
 */
export class RunsdDispatcher extends Dispatcher {
  readonly #router: Router;
  readonly #inner: Dispatcher;

  constructor(router: Router, inner: Dispatcher = new Agent()) {
    super();
    this.#router = router;
    this.#inner = inner;
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const origin = options.origin === undefined ? undefined : new URL(String(options.origin));
    if (origin === undefined) return this.#inner.dispatch(options, handler);
    const route = this.#router.route(origin.host, toHeaderMap(options.headers));
    if (route instanceof Promise) {
      route.then((resolved) => this.#send(resolved, options, handler));
      return true;
    }
    return this.#send(route, options, handler);
  }

  #send(route: Route, options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (route.kind === 'passthrough') return this.#inner.dispatch(options, handler);
    if (route.kind === 'fail') {
      respondText(handler, route.status, route.message, statusTexts[route.status] ?? 'Error');
      return true;
    }
    return this.#inner.dispatch({ ...options, origin: route.origin, headers: route.headers }, handler);
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    if (callback === undefined) return this.#inner.close();
    this.#inner.close(callback);
  }

  override destroy(): Promise<void>;
  override destroy(error: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(error: Error | null, callback: () => void): void;
  override destroy(errorOrCallback?: Error | null | (() => void), callback?: () => void): Promise<void> | void {
    if (typeof errorOrCallback === 'function') return this.#inner.destroy(errorOrCallback);
    if (callback !== undefined) return this.#inner.destroy(errorOrCallback ?? null, callback);
    return this.#inner.destroy(errorOrCallback ?? null);
  }
}
