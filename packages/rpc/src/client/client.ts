import { setTimeout as sleep } from 'node:timers/promises';
import { type Dispatcher, getGlobalDispatcher } from 'undici';
import { RpcError, isRpcError } from '../error.js';
import { errorBodyLimit, errorFromResponse, parseSuccess } from './response.js';
import { type RetryOptions, backoff, connectionCode, isRetryable, isTransportFailure, retryPolicy } from './retry.js';

export type HeaderValues = Record<string, string>;

export interface ClientOptions {
  /**
   * Where requests go. Default: undici's global dispatcher, looked up per call,
   * so that runsd's preload (which installs one) routes `http://tacoserver/`.
   */
  dispatcher?: Dispatcher;
  /** Per-call deadline in ms, retries included. Default 30 000; 0 means none. */
  timeout?: number;
  /** Headers for every call, or a function that makes them per call. */
  headers?: HeaderValues | (() => HeaderValues | Promise<HeaderValues>);
  /** Like oto's Client.Debug: gets a line for each request, response and retry. */
  debug?: (line: string) => void;
  /** Backoff for retries, or false for none at all. */
  retry?: RetryOptions | false;
}

export interface CallOptions {
  /** Overrides the client's timeout for this call. */
  timeout?: number;
  /** Cancels the call; it then rejects with RpcError `canceled`. */
  signal?: AbortSignal;
  /** Added to (and overriding) the client's headers. */
  headers?: HeaderValues;
}

/** What the definitions say about a method, as far as the client cares. */
export interface MethodOptions {
  /** Tagged `@idempotent`: safe to send again after it may have reached the server. */
  idempotent?: boolean;
}

export const defaultTimeout = 30_000;

const baseHeaders: HeaderValues = {
  'content-type': 'application/json',
  accept: 'application/json',
  // undici sends no User-Agent of its own; servers log this one (runsd prefixes its own).
  'user-agent': 'taco-run-rpc/0.1.0',
};

/**
 * The client core that every generated `<Service>Client` wraps: one POST per
 * call, the deadline, the retries, and the protocol's error mapping.
 */
export class RpcClient {
  readonly #origin: string;
  readonly #basePath: string;
  readonly #options: ClientOptions;
  readonly #retry;

  constructor(baseUrl: string | URL, options: ClientOptions = {}) {
    const url = new URL(baseUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`RPC base URL must be http: or https:, got ${url.href}`);
    }
    this.#origin = url.origin;
    this.#basePath = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`;
    this.#options = options;
    this.#retry = retryPolicy(options.retry);
  }

  /** Calls `Service.Method` (its wire name) with a request object and resolves with the response object. */
  async call<Response>(
    method: string,
    request: unknown,
    options: CallOptions = {},
    { idempotent = false }: MethodOptions = {},
  ): Promise<Response> {
    const path = this.#basePath + method;
    const body = JSON.stringify(request);
    const headers = await this.#headers(options.headers);
    const deadline = new Deadline(options.timeout ?? this.#options.timeout ?? defaultTimeout, options.signal);
    try {
      for (let attempt = 1; ; attempt++) {
        let error: RpcError;
        try {
          return (await this.#send(path, body, headers, deadline.signal)) as Response;
        } catch (cause) {
          error = deadline.reason() ?? this.#toRpcError(cause);
        }
        if (attempt >= this.#retry.maxAttempts || !isRetryable(error, idempotent)) throw error;
        const delay = backoff(this.#retry, attempt, error.retryAfter);
        if (delay >= deadline.remaining()) throw error;
        this.#options.debug?.(`retrying ${method} in ${delay} ms after ${error.code}: ${error.message}`);
        try {
          await sleep(delay, undefined, deadline.signal === undefined ? undefined : { signal: deadline.signal });
        } catch {
          throw deadline.reason() ?? error;
        }
      }
    } finally {
      deadline.dispose();
    }
  }

  async #send(path: string, body: string, headers: HeaderValues, signal: AbortSignal | undefined): Promise<unknown> {
    const dispatcher = this.#options.dispatcher ?? getGlobalDispatcher();
    const debug = this.#options.debug;
    const started = debug === undefined ? 0 : performance.now();
    debug?.(`POST ${this.#origin}${path} ${body}`);
    const response = await dispatcher.request({ origin: this.#origin, path, method: 'POST', headers, body, signal });
    const { statusCode } = response;
    if (statusCode >= 200 && statusCode < 300) {
      const text = await response.body.text();
      debug?.(`${statusCode} in ${Math.round(performance.now() - started)} ms ${text}`);
      return parseSuccess(statusCode, text, this.#origin + path);
    }
    const text = await readCapped(response.body, errorBodyLimit);
    debug?.(`${statusCode} in ${Math.round(performance.now() - started)} ms ${text}`);
    throw errorFromResponse(statusCode, response.headers, text, this.#origin + path);
  }

  async #headers(callHeaders: HeaderValues | undefined): Promise<HeaderValues> {
    const own = this.#options.headers;
    const clientHeaders = typeof own === 'function' ? await own() : own;
    if (clientHeaders === undefined && callHeaders === undefined) return baseHeaders;
    return { ...baseHeaders, ...lowercaseKeys(clientHeaders), ...lowercaseKeys(callHeaders) };
  }

  #toRpcError(error: unknown): RpcError {
    if (isRpcError(error)) return error;
    const code = connectionCode(error);
    const reason = error instanceof Error ? error.message : String(error);
    if (isTransportFailure(code)) {
      return new RpcError('unavailable', `cannot reach ${this.#origin}: ${code === reason ? code : `${code}, ${reason}`}`, {
        cause: error,
      });
    }
    return new RpcError('unknown', `call to ${this.#origin} failed: ${reason}`, { cause: error });
  }
}

/** The call's deadline and the caller's signal, as one signal for undici and the backoff sleep. */
class Deadline {
  readonly signal: AbortSignal | undefined;
  readonly #controller: AbortController | undefined;
  readonly #expires: number;
  readonly #timer: NodeJS.Timeout | undefined;
  readonly #caller: AbortSignal | undefined;
  readonly #onCallerAbort = () => {
    this.#controller?.abort(new RpcError('canceled', 'the call was canceled', { cause: this.#caller?.reason }));
  };

  constructor(timeout: number, caller: AbortSignal | undefined) {
    this.#expires = timeout > 0 ? Date.now() + timeout : Number.POSITIVE_INFINITY;
    this.#caller = caller;
    if (timeout <= 0 && caller === undefined) return;
    const controller = new AbortController();
    this.#controller = controller;
    this.signal = controller.signal;
    if (timeout > 0) {
      this.#timer = setTimeout(() => {
        controller.abort(new RpcError('deadline_exceeded', `no answer within ${timeout} ms`));
      }, timeout);
    }
    if (caller?.aborted) this.#onCallerAbort();
    else caller?.addEventListener('abort', this.#onCallerAbort, { once: true });
  }

  /** The RpcError that ended the call, if the deadline or the caller did. */
  reason(): RpcError | undefined {
    return this.signal?.aborted ? (this.signal.reason as RpcError) : undefined;
  }

  remaining(): number {
    return this.#expires - Date.now();
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#caller?.removeEventListener('abort', this.#onCallerAbort);
  }
}

async function readCapped(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    // Leaving the loop destroys the stream, so a huge error page is not read to its end.
    if (size >= limit) break;
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

function lowercaseKeys(headers: HeaderValues | undefined): HeaderValues | undefined {
  if (headers === undefined) return undefined;
  const result: HeaderValues = {};
  for (const [name, value] of Object.entries(headers)) result[name.toLowerCase()] = value;
  return result;
}
