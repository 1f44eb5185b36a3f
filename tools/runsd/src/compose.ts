import type { Dispatcher } from 'undici';
import { respondText } from './respond.js';

type Interceptor = Dispatcher.DispatcherComposeInterceptor;

/** The dispatcher an interceptor chain sits on: runsd's own, or a chain already composed on it. */
export interface Layerable {
  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean;
  close(): Promise<void>;
  destroy(): Promise<void>;
}

/** runsd's inner undici Agent, which loads with the first request rather than at start-up. */
export interface InnerAgent {
  /** The Agent, if undici has loaded. */
  now(): Dispatcher | undefined;
  load(): Promise<Dispatcher>;
}

/**
 * undici's interceptors (retry, redirect, dns...) layered over runsd's
 * dispatcher, so an app can do what it would with undici's own:
 * `setGlobalDispatcher(getGlobalDispatcher().compose(interceptors.retry()))`,
 * with runsd's routing and tokens still beneath every attempt.
 *
 * undici's own `compose` does the layering, since it also adapts old-style
 * handlers to the interface interceptors expect. It is borrowed from the
 * inner Agent's class, so it is only at hand once undici has loaded; before
 * that the chain is built on the first request, which waits for undici anyway.
 */
export class ComposedDispatcher implements Layerable {
  readonly #base: Layerable;
  readonly #interceptors: Interceptor[];
  readonly #inner: InnerAgent;
  #chain: Dispatcher | undefined;

  constructor(base: Layerable, interceptors: unknown[], inner: InnerAgent) {
    // Checked at once, as undici does, rather than on the first request.
    for (const interceptor of interceptors) {
      if (interceptor != null && typeof interceptor !== 'function') {
        throw new TypeError(`invalid interceptor, expected function received ${typeof interceptor}`);
      }
    }
    this.#base = base;
    this.#interceptors = interceptors as Interceptor[];
    this.#inner = inner;
    const loaded = inner.now();
    if (loaded !== undefined) this.#chain = this.#build(loaded);
  }

  // Arrow properties, not methods: they keep `this` however undici's compose (a Proxy) reaches them.
  dispatch = (options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean => {
    if (this.#chain !== undefined) return this.#chain.dispatch(options, handler);
    this.#inner
      .load()
      .then((loaded) => {
        this.#chain ??= this.#build(loaded);
        this.#chain.dispatch(options, handler);
      })
      .catch((error: Error) => respondText(handler, 502, `runsd: ${error.message}\n`, 'Bad Gateway'));
    return true;
  };

  close = (): Promise<void> => this.#base.close();

  destroy = (): Promise<void> => this.#base.destroy();

  compose = (...args: unknown[]): ComposedDispatcher => new ComposedDispatcher(this, flatten(args), this.#inner);

  #build(loaded: Dispatcher): Dispatcher {
    return (loaded.compose as (this: Layerable, interceptors: Interceptor[]) => Dispatcher).call(
      this.#base,
      this.#interceptors,
    );
  }

  /** For APIs typed to undici's Dispatcher: the contract it keeps. */
  asDispatcher(): Dispatcher {
    return this as unknown as Dispatcher;
  }
}

/** `compose(a, b)` and `compose([a, b])` mean the same, as in undici. */
export function flatten(args: unknown[]): unknown[] {
  return Array.isArray(args[0]) ? (args[0] as unknown[]) : args;
}
