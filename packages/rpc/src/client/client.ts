import { setTimeout as sleep } from 'node:timers/promises';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import type { Dispatcher } from 'undici';
import { isRpcError, RpcError } from '../error.js';
import { childTraceparent, currentTrace, type SpanAttributes, spanRecorder, traceparentOf } from '../trace/index.js';
import { errorBodyLimit, errorFromResponse, parseSuccess } from './response.js';
import { backoff, connectionCode, isRetryable, isTransportFailure, type RetryOptions, retryPolicy } from './retry.js';
import { conform, type Shape } from './shape.js';

export type HeaderValues = Record<string, string>;

type Request = typeof import('undici').request;
let undiciRequest: Request | undefined;

/**
 * undici, loaded on a service's first call rather than at its start: its
 * index loads every part of itself (the HTTP/2 client, the mocks, cookies,
 * which reach for Node's own fetch), about as long as the rest of a
 * service's start-up, and a service's cold start is often for a request that
 * calls nothing. In a bundle it is a chunk of its own; its CommonJS exports
 * arrive as `default` there, and as both under plain Node.
 */
async function loadUndici(): Promise<Request> {
  const undici = (await import('undici')) as typeof import('undici') & { default?: typeof import('undici') };
  undiciRequest = (undici.default ?? undici).request;
  return undiciRequest;
}

export interface ClientOptions {
  /**
   * Where requests go. Default: undici's global dispatcher, looked up per call,
   * so that runsd's preload (which installs one) routes `http://tacoserver/`.
   */
  dispatcher?: Dispatcher;
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

/** What the definitions say about a method, as far as the client cares. */
export interface MethodOptions {
  /** Tagged `@idempotent`: safe to send again after it may have reached the server. */
  idempotent?: boolean;
  /** The response's shape: Go's nulls become empty lists and maps, and undeclared fields are left out. */
  response?: Shape;
}

export const defaultTimeout = 30_000;

const baseHeaders: HeaderValues = {
  'content-type': 'application/json',
  accept: 'application/json',
  // Uncompressed by default; a body a server compresses anyway (a caller may ask for it) is still read.
  'accept-encoding': 'identity',
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
  #staticHeaders: HeaderValues | undefined;
  /** Each method's URL, parsed once: undici would otherwise parse the string on every call. */
  readonly #urls = new Map<string, URL>();

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
    methodOptions: MethodOptions = {},
  ): Promise<Response> {
    const body = JSON.stringify(request);
    const pending = this.#headers(options.headers);
    const headers = pending instanceof Promise ? await pending : pending;
    const recorder = spanRecorder();
    // A caller that sets traceparent itself places the call in its trace; it gets no span of ours.
    if (recorder === undefined || headers.traceparent !== undefined) {
      return this.#attempts(method, body, traced(headers), options, methodOptions);
    }
    const span = recorder.startClient(method, currentTrace(), () => this.#spanAttributes(method));
    const report: CallReport = { retries: 0 };
    const spanHeaders = { ...headers, traceparent: traceparentOf(span.trace) };
    try {
      const answer = await this.#attempts<Response>(method, body, spanHeaders, options, methodOptions, report);
      span.end(report);
      return answer;
    } catch (error) {
      // The status is the one an answer came with, if any: a refused connection's 503 is ours, not the server's.
      span.end({ ...report, code: (error as RpcError).code });
      throw error;
    }
  }

  /** The call's attempts: the first, and the retries its method and the deadline allow. */
  async #attempts<Response>(
    method: string,
    body: string,
    headers: HeaderValues,
    options: CallOptions,
    { idempotent = false, response }: MethodOptions,
    report?: CallReport,
  ): Promise<Response> {
    const path = this.#basePath + method;
    const timeout = options.timeout ?? this.#options.timeout ?? defaultTimeout;
    const expires = timeout > 0 ? Date.now() + timeout : Number.POSITIVE_INFINITY;
    const { signal } = options;
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw canceled(signal);
      const remaining = expires - Date.now();
      if (remaining <= 0) throw deadlineExceeded(timeout);
      let error: RpcError;
      try {
        const sending = this.#send(path, body, headers, signal, remaining, report);
        const answer = await (Number.isFinite(remaining) ? withDeadline(sending, remaining, timeout) : sending);
        return (response === undefined ? answer : conform(answer, response)) as Response;
      } catch (cause) {
        error = this.#toRpcError(cause, signal, timeout);
      }
      if (attempt >= this.#retry.maxAttempts || !isRetryable(error, idempotent)) throw error;
      const delay = backoff(this.#retry, attempt, error.retryAfter);
      if (delay >= expires - Date.now()) throw error;
      if (report !== undefined) report.retries = attempt;
      this.#options.debug?.(`retrying ${method} in ${delay} ms after ${error.code}: ${error.message}`);
      if (signal === undefined) await sleep(delay);
      else
        await sleep(delay, undefined, { signal }).catch(() => {
          throw canceled(signal);
        });
    }
  }

  /**
   * One attempt. The attempt is given the time left as undici's headers and
   * body timeouts, which tear down a connection that stopped answering; they
   * tick every half second, so the caller's deadline itself is a plain timer
   * (withDeadline). An AbortController per call would do both, but costs more
   * than the rest of the client together on a fast loopback call.
   */
  async #send(
    path: string,
    body: string,
    headers: HeaderValues,
    signal: AbortSignal | undefined,
    remaining: number,
    report: CallReport | undefined,
  ): Promise<unknown> {
    const debug = this.#options.debug;
    const started = debug === undefined ? 0 : performance.now();
    debug?.(`POST ${this.#origin}${path} ${body}`);
    const timeouts = Number.isFinite(remaining) ? { headersTimeout: remaining, bodyTimeout: remaining } : {};
    // undici's request() rather than dispatcher.request(): it needs only `dispatch` of whatever the global
    // dispatcher is (runsd's preload installs one that is not an undici class), looked up per call.
    let url = this.#urls.get(path);
    if (url === undefined) {
      url = new URL(this.#origin + path);
      this.#urls.set(path, url);
    }
    const request = undiciRequest ?? (await loadUndici());
    const response = await request(url, {
      dispatcher: this.#options.dispatcher,
      method: 'POST',
      headers,
      body,
      signal,
      ...timeouts,
    });
    const { statusCode } = response;
    if (report !== undefined) report.status = statusCode;
    const encoding = response.headers['content-encoding'];
    if (encoding !== undefined && encoding !== 'identity') {
      // Rare (the client asks for identity), so decoded apart from the common path below.
      const text = await decoded(response.body, String(encoding), statusCode < 300 ? undefined : errorBodyLimit);
      debug?.(`${statusCode} in ${Math.round(performance.now() - started)} ms ${text}`);
      if (statusCode >= 200 && statusCode < 300) return parseSuccess(statusCode, text, this.#origin + path);
      throw errorFromResponse(statusCode, response.headers, text, this.#origin + path);
    }
    if (statusCode >= 200 && statusCode < 300) {
      const text = await response.body.text();
      debug?.(`${statusCode} in ${Math.round(performance.now() - started)} ms ${text}`);
      return parseSuccess(statusCode, text, this.#origin + path);
    }
    const text = await readCapped(response.body, errorBodyLimit);
    debug?.(`${statusCode} in ${Math.round(performance.now() - started)} ms ${text}`);
    throw errorFromResponse(statusCode, response.headers, text, this.#origin + path);
  }

  /** A call span's attributes, as OpenTelemetry's RPC and HTTP client conventions name them. */
  #spanAttributes(method: string): SpanAttributes {
    const url = new URL(this.#origin);
    return {
      'rpc.system.name': 'oto',
      'rpc.method': method,
      'http.request.method': 'POST',
      'url.full': this.#origin + this.#basePath + method,
      'server.address': url.hostname,
      'server.port': Number(url.port) || (url.protocol === 'https:' ? 443 : 80),
    };
  }

  /** The headers of a call: computed once for static client headers, so the common call does no merging. */
  #headers(callHeaders: HeaderValues | undefined): HeaderValues | Promise<HeaderValues> {
    const own = this.#options.headers;
    if (typeof own === 'function') {
      return Promise.resolve(own()).then((computed) => ({
        ...baseHeaders,
        ...lowercaseKeys(computed),
        ...lowercaseKeys(callHeaders),
      }));
    }
    this.#staticHeaders ??= { ...baseHeaders, ...lowercaseKeys(own) };
    return callHeaders === undefined ? this.#staticHeaders : { ...this.#staticHeaders, ...lowercaseKeys(callHeaders) };
  }

  #toRpcError(error: unknown, signal: AbortSignal | undefined, timeout: number): RpcError {
    if (signal?.aborted) return canceled(signal);
    if (isRpcError(error)) return error;
    const code = connectionCode(error);
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return deadlineExceeded(timeout);
    const reason = error instanceof Error ? error.message : String(error);
    if (isTransportFailure(code)) {
      return new RpcError(
        'unavailable',
        `cannot reach ${this.#origin}: ${code === reason ? code : `${code}, ${reason}`}`,
        {
          cause: error,
        },
      );
    }
    return new RpcError('unknown', `call to ${this.#origin} failed: ${reason}`, { cause: error });
  }
}

/** What a recorded call's span ends with, filled in as its attempts go. */
interface CallReport {
  retries: number;
  status?: number;
}

/**
 * A call made while a service handles a request carries that request's trace
 * on, as a child span, unless the caller set `traceparent` itself.
 */
function traced(headers: HeaderValues): HeaderValues {
  const trace = currentTrace();
  return trace === undefined || headers.traceparent !== undefined
    ? headers
    : { ...headers, traceparent: childTraceparent(trace) };
}

/** Rejects at the deadline even if undici's coarser timeout has not torn the attempt down yet. */
function withDeadline<T>(work: Promise<T>, ms: number, timeout: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(deadlineExceeded(timeout)), ms);
  });
  // The attempt still settles later (undici's timeout ends it); that outcome has no one left to hear it.
  work.catch(() => undefined);
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

function canceled(signal: AbortSignal): RpcError {
  return new RpcError('canceled', 'the call was canceled', { cause: signal.reason });
}

function deadlineExceeded(timeout: number): RpcError {
  // With no deadline of ours, only undici's own (default 5 minute) timeouts can end a silent call.
  return new RpcError(
    'deadline_exceeded',
    timeout > 0 ? `no answer within ${timeout} ms` : "no answer within undici's timeout",
  );
}

/** A compressed body as text: gzip, deflate or br, as oto's Go server sends when asked (zlib, no dependency). */
async function decoded(
  body: Dispatcher.ResponseData['body'],
  encoding: string,
  limit: number | undefined,
): Promise<string> {
  const raw = Buffer.from(await body.arrayBuffer());
  const method = encoding.trim().toLowerCase();
  try {
    const plain =
      method === 'gzip' || method === 'x-gzip'
        ? gunzipSync(raw)
        : method === 'deflate'
          ? inflateSync(raw)
          : method === 'br'
            ? brotliDecompressSync(raw)
            : undefined;
    if (plain === undefined) throw new Error(`the answer is encoded as ${encoding}, which the client cannot read`);
    return (limit === undefined ? plain : plain.subarray(0, limit)).toString('utf8');
  } catch (error) {
    throw new RpcError('unknown', `the ${encoding} answer could not be decoded: ${(error as Error).message}`);
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
