import { RpcError } from '../error.js';
import {
  type Answer,
  type BaseClientOptions,
  type CallOptions,
  deadlineExceeded,
  failedCall,
  type HeaderValues,
  type MethodOptions,
  RpcCaller,
  type Transport,
} from '../protocol/call.js';
import { errorBodyLimit } from '../protocol/response.js';

export interface WebClientOptions extends BaseClientOptions {
  /** The `fetch` to call with. Default: the global one, looked up per call, so one installed later is used. */
  fetch?: typeof fetch;
  /**
   * Whether a browser sends its cookies and HTTP authentication to another
   * origin: `fetch`'s `credentials`. Default `same-origin`. A service that
   * is to receive them must allow it in its CORS answer.
   */
  credentials?: 'omit' | 'same-origin' | 'include';
}

// No accept-encoding or user-agent, which a browser sets itself and refuses to be told, and no accept, which no
// server of the protocol reads: each header is work on both ends of every call.
const baseHeaders: HeaderValues = { 'content-type': 'application/json' };

/**
 * The client that every generated web `<Service>Client` wraps: the
 * protocol's core (`RpcCaller`) over `fetch`, and nothing else, so that it
 * runs in browsers, Deno, Bun, Cloudflare Workers and Node alike.
 */
export class WebRpcClient {
  readonly #caller: RpcCaller;

  constructor(baseUrl: string | URL, options: WebClientOptions = {}) {
    this.#caller = new RpcCaller(baseUrl, options, new FetchTransport(options), baseHeaders);
  }

  /** Calls `Service.Method` (its wire name) with a request object and resolves with the response object. */
  call<Response>(
    method: string,
    request: unknown,
    options: CallOptions = {},
    methodOptions: MethodOptions = {},
  ): Promise<Response> {
    // Not async: with static headers, as most clients have, the call is one turn of the microtask queue shorter.
    // What an async function would do with a throw (a request JSON cannot hold, a headers function that throws)
    // is done by hand: the caller gets a rejected promise, never an exception.
    try {
      const body = JSON.stringify(request);
      const headers = this.#caller.headers(options.headers);
      return headers instanceof Promise
        ? headers.then((computed) => this.#caller.attempts(method, body, computed, options, methodOptions))
        : this.#caller.attempts(method, body, headers, options, methodOptions);
    } catch (error) {
      return Promise.reject(error);
    }
  }
}

/** What an attempt is aborted with when its time is up, told apart from the caller's own abort. */
const timeUp = 'TimeoutError';

/** Calls over `fetch`. */
class FetchTransport implements Transport {
  // Its own timer aborts the fetch at the deadline, which a second timer would only duplicate.
  readonly keepsDeadline = true;
  readonly #fetch: typeof fetch | undefined;
  readonly #credentials: WebClientOptions['credentials'];

  constructor({ fetch, credentials }: WebClientOptions) {
    this.#fetch = fetch;
    this.#credentials = credentials;
  }

  /**
   * `fetch` has no timeout of its own, so each attempt has a controller that
   * aborts it when the time left runs out, which also frees its connection,
   * and that follows the caller's signal.
   */
  async send(
    url: string,
    body: string,
    headers: HeaderValues,
    signal: AbortSignal | undefined,
    remaining: number,
  ): Promise<Answer> {
    const controller = new AbortController();
    const timer = Number.isFinite(remaining)
      ? setTimeout(() => controller.abort(new DOMException('the time left ran out', timeUp)), remaining)
      : undefined;
    const follow = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', follow, { once: true });
    try {
      const init: RequestInit = { method: 'POST', headers, body, signal: controller.signal };
      if (this.#credentials !== undefined) init.credentials = this.#credentials;
      const response = await (this.#fetch ?? fetch)(url, init);
      const { status } = response;
      // A success needs its body alone; the headers and the reason phrase are read for a failure.
      if (status >= 200 && status < 300) {
        return {
          status,
          reason: undefined,
          retryAfter: undefined,
          contentType: undefined,
          text: await response.text(),
        };
      }
      return {
        status,
        reason: response.statusText,
        retryAfter: response.headers.get('retry-after'),
        contentType: response.headers.get('content-type'),
        text: await readCapped(response, errorBodyLimit),
      };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', follow);
    }
  }

  failure(error: unknown, origin: string, timeout: number): RpcError {
    if (error instanceof Error && error.name === timeUp) return deadlineExceeded(timeout, "fetch's");
    // fetch rejects with a TypeError when there is no answer at all; a browser says no more than that, on purpose.
    if (error instanceof TypeError) {
      const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
      return new RpcError('unavailable', `cannot reach ${origin}: ${error.message}${cause}`, { cause: error });
    }
    return failedCall(error, origin);
  }

  /** `fetch` cannot tell a refused connection from one that failed after sending. */
  neverSent(): boolean {
    return false;
  }
}

/** Up to `limit` bytes of a body, as text; the rest is not read. */
async function readCapped(response: Response, limit: number): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (let size = 0; size < limit; ) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    size += value.byteLength;
    text += decoder.decode(value, { stream: true });
  }
  await reader.cancel();
  return text.slice(0, limit);
}
