import { isRpcError, RpcError } from '../error.js';
import { errorFromResponse, type FailedAnswer, parseSuccess } from './response.js';
import { backoff, isRetryable, type RetryOptions, type RetryPolicy, retryPolicy } from './retry.js';
import { conform, type Shape } from './shape.js';

export type HeaderValues = Record<string, string>;

/** What every client takes, whatever carries its calls. */
export interface BaseClientOptions {
  /**
   * Per-call deadline in ms, retries included: the answer's headers, and each
   * pause in its body, must come within the time left. Default 30 000; 0 means none.
   */
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

/** What the definitions say about a method, as far as a client cares. */
export interface MethodOptions {
  /** Tagged `@idempotent`: safe to send again after it may have reached the server. */
  idempotent?: boolean;
  /** The response's shape: Go's nulls become empty lists and maps, and undeclared fields are left out. */
  response?: Shape;
}

export const defaultTimeout = 30_000;

/** What a call's attempts came to, for its span: filled in as they go. */
export interface CallReport {
  retries: number;
  status?: number;
}

/** An answer as a transport heard it: the whole body of a 2xx, and up to `errorBodyLimit` of anything else. */
export type Answer = Omit<FailedAnswer, 'url'>;

/**
 * How one attempt of a call travels: undici under Node, `fetch` elsewhere.
 * The rest of a call (the deadline, the retries, the protocol's reading of
 * an answer) is the same whatever carries it, and lives in `RpcCaller`.
 */
export interface Transport {
  /** Posts the body once, and reads the answer. Rejects with the transport's own error if there is none. */
  send(
    url: string,
    body: string,
    headers: HeaderValues,
    signal: AbortSignal | undefined,
    remaining: number,
  ): Promise<Answer>;
  /** The transport's own error (no answer, or none in time) as the RpcError a caller gets. */
  failure(error: unknown, origin: string, timeout: number): RpcError;
  /** Whether a failed attempt is known never to have left: then any method may try again. */
  neverSent(error: RpcError): boolean;
  /**
   * Whether `send` itself fails with deadline_exceeded when the time given
   * runs out. If not, a timer of the caller's ends the wait at the deadline.
   */
  readonly keepsDeadline: boolean;
}

/**
 * The transport-independent half of a client: a base URL, headers, the
 * deadline and retries. Each generated `<Service>Client` calls through one.
 */
export class RpcCaller {
  readonly origin: string;
  readonly basePath: string;
  readonly #transport: Transport;
  readonly #options: BaseClientOptions;
  readonly #retry: RetryPolicy;
  readonly #baseHeaders: HeaderValues;
  #staticHeaders: HeaderValues | undefined;
  /**
   * Each method's URL, made once: the same string every call, so a transport that keys on it (undici's
   * parsed URLs) finds it by a hash the string already holds, where a string joined per call is hashed anew.
   */
  readonly #urls = new Map<string, string>();

  constructor(baseUrl: string | URL, options: BaseClientOptions, transport: Transport, baseHeaders: HeaderValues) {
    const url = new URL(baseUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`RPC base URL must be http: or https:, got ${url.href}`);
    }
    this.origin = url.origin;
    this.basePath = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`;
    this.#transport = transport;
    this.#options = options;
    this.#retry = retryPolicy(options.retry);
    this.#baseHeaders = baseHeaders;
  }

  /** The headers of a call: computed once for static client headers, so the common call does no merging. */
  headers(callHeaders: HeaderValues | undefined): HeaderValues | Promise<HeaderValues> {
    const own = this.#options.headers;
    if (typeof own === 'function') {
      return Promise.resolve(own()).then((computed) => ({
        ...this.#baseHeaders,
        ...lowercaseKeys(computed),
        ...lowercaseKeys(callHeaders),
      }));
    }
    this.#staticHeaders ??= { ...this.#baseHeaders, ...lowercaseKeys(own) };
    return callHeaders === undefined ? this.#staticHeaders : { ...this.#staticHeaders, ...lowercaseKeys(callHeaders) };
  }

  #urlOf(method: string): string {
    let url = this.#urls.get(method);
    if (url === undefined) {
      url = this.origin + this.basePath + method;
      this.#urls.set(method, url);
    }
    return url;
  }

  /** A call's attempts: the first, and the retries its method and the deadline allow. */
  async attempts<Response>(
    method: string,
    body: string,
    headers: HeaderValues,
    options: CallOptions,
    { idempotent = false, response }: MethodOptions,
    report?: CallReport,
  ): Promise<Response> {
    const url = this.#urlOf(method);
    const debug = this.#options.debug;
    const timeout = options.timeout ?? this.#options.timeout ?? defaultTimeout;
    const expires = timeout > 0 ? Date.now() + timeout : Number.POSITIVE_INFINITY;
    const { signal } = options;
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw canceled(signal);
      const remaining = expires - Date.now();
      if (remaining <= 0) throw deadlineExceeded(timeout);
      let error: RpcError;
      try {
        const started = debug === undefined ? 0 : performance.now();
        debug?.(`POST ${url} ${body}`);
        const sending = this.#transport.send(url, body, headers, signal, remaining);
        const answer = await (Number.isFinite(remaining) && !this.#transport.keepsDeadline
          ? withDeadline(sending, remaining, timeout)
          : sending);
        if (report !== undefined) report.status = answer.status;
        debug?.(`${answer.status} in ${Math.round(performance.now() - started)} ms ${answer.text}`);
        const read = readAnswer(answer, url);
        return (response === undefined ? read : conform(read, response)) as Response;
      } catch (cause) {
        error = signal?.aborted
          ? canceled(signal)
          : isRpcError(cause)
            ? cause
            : this.#transport.failure(cause, this.origin, timeout);
      }
      const neverSent = this.#transport.neverSent(error);
      if (attempt >= this.#retry.maxAttempts || !isRetryable(error, idempotent, neverSent)) throw error;
      const delay = backoff(this.#retry, attempt, error.retryAfter);
      if (delay >= expires - Date.now()) throw error;
      if (report !== undefined) report.retries = attempt;
      debug?.(`retrying ${method} in ${delay} ms after ${error.code}: ${error.message}`);
      await pause(delay, signal);
    }
  }
}

/** What the protocol makes of an answer: the success body, or an RpcError. */
function readAnswer(answer: Answer, url: string): unknown {
  if (answer.status >= 200 && answer.status < 300) return parseSuccess(answer.status, answer.text, url);
  throw errorFromResponse({ ...answer, url });
}

/**
 * Rejects at the deadline even if the transport's own timeout has not torn the attempt down yet. One
 * promise and a timer per call: Promise.race and finally cost a loopback call about three more promises.
 */
function withDeadline<T>(work: Promise<T>, ms: number, timeout: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(deadlineExceeded(timeout)), ms);
    // The attempt still settles after a deadline (the transport's timeout ends it); no one is left to hear it.
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** The backoff before a retry, cut short by the caller's signal. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal === undefined) {
      setTimeout(resolve, ms);
      return;
    }
    const stop = () => {
      clearTimeout(timer);
      reject(canceled(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', stop);
      resolve();
    }, ms);
    signal.addEventListener('abort', stop, { once: true });
  });
}

export function canceled(signal: AbortSignal): RpcError {
  return new RpcError('canceled', 'the call was canceled', { cause: signal.reason });
}

/** `whose` names the timeout that ended a call with no deadline of ours: the transport's own. */
export function deadlineExceeded(timeout: number, whose = "the transport's"): RpcError {
  return new RpcError(
    'deadline_exceeded',
    timeout > 0 ? `no answer within ${timeout} ms` : `no answer within ${whose} timeout`,
  );
}

/** A transport's error that is neither a missing answer nor a late one: said as it came, under `unknown`. */
export function failedCall(error: unknown, origin: string): RpcError {
  const reason = error instanceof Error ? error.message : String(error);
  return new RpcError('unknown', `call to ${origin} failed: ${reason}`, { cause: error });
}

function lowercaseKeys(headers: HeaderValues | undefined): HeaderValues | undefined {
  if (headers === undefined) return undefined;
  const result: HeaderValues = {};
  for (const [name, value] of Object.entries(headers)) result[name.toLowerCase()] = value;
  return result;
}
