import { STATUS_CODES } from 'node:http';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import type { Dispatcher } from 'undici';
import { RpcError } from '../error.js';
import {
  type Answer,
  type BaseClientOptions,
  type CallOptions,
  type CallReport,
  deadlineExceeded,
  failedCall,
  type HeaderValues,
  type MethodOptions,
  RpcCaller,
  type Transport,
} from '../protocol/call.js';
import { errorBodyLimit } from '../protocol/response.js';
import { childTraceparent, currentTrace, type SpanAttributes, spanRecorder, traceparentOf } from '../trace/index.js';
import { connectionCode, isTransportFailure } from './transport-errors.js';

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

export interface ClientOptions extends BaseClientOptions {
  /**
   * Where requests go. Default: undici's global dispatcher, looked up per call,
   * so that runsd's preload (which installs one) routes `http://tacoserver/`.
   */
  dispatcher?: Dispatcher;
}

// No accept, which no server of the protocol reads, and no accept-encoding: a server compresses only when asked
// (oto's does; see OTO-INTEROP.md), and a body compressed anyway is still read. Each header is work on both ends of
// every call: these two cost the client about 1% of its instructions on a loopback call.
const baseHeaders: HeaderValues = {
  'content-type': 'application/json',
  // undici sends no User-Agent of its own; servers log this one (runsd prefixes its own).
  'user-agent': 'taco-run-rpc/0.1.0',
};

/**
 * The Node client that every generated `<Service>Client` wraps: the
 * protocol's core (`RpcCaller`) over undici, with the trace of the request
 * being handled carried on, and a span per call when spans are recorded.
 */
export class RpcClient {
  readonly #caller: RpcCaller;

  constructor(baseUrl: string | URL, options: ClientOptions = {}) {
    this.#caller = new RpcCaller(baseUrl, options, new UndiciTransport(options.dispatcher), baseHeaders);
  }

  /** Calls `Service.Method` (its wire name) with a request object and resolves with the response object. */
  async call<Response>(
    method: string,
    request: unknown,
    options: CallOptions = {},
    methodOptions: MethodOptions = {},
  ): Promise<Response> {
    const body = JSON.stringify(request);
    const pending = this.#caller.headers(options.headers);
    const headers = pending instanceof Promise ? await pending : pending;
    const recorder = spanRecorder();
    // A caller that sets traceparent itself places the call in its trace; it gets no span of ours.
    if (recorder === undefined || headers.traceparent !== undefined) {
      return this.#caller.attempts(method, body, traced(headers), options, methodOptions);
    }
    const span = recorder.startClient(method, currentTrace(), () => this.#spanAttributes(method));
    const report: CallReport = { retries: 0 };
    const spanHeaders = { ...headers, traceparent: traceparentOf(span.trace) };
    try {
      const answer = await this.#caller.attempts<Response>(method, body, spanHeaders, options, methodOptions, report);
      span.end(report);
      return answer;
    } catch (error) {
      // The status is the one an answer came with, if any: a refused connection's 503 is ours, not the server's.
      span.end({ ...report, code: (error as RpcError).code });
      throw error;
    }
  }

  /** A call span's attributes, as OpenTelemetry's RPC and HTTP client conventions name them. */
  #spanAttributes(method: string): SpanAttributes {
    const { origin, basePath } = this.#caller;
    const url = new URL(origin);
    return {
      'rpc.system.name': 'oto',
      'rpc.method': method,
      'http.request.method': 'POST',
      'url.full': origin + basePath + method,
      'server.address': url.hostname,
      'server.port': Number(url.port) || (url.protocol === 'https:' ? 443 : 80),
    };
  }
}

/** Calls over undici: through the dispatcher given, or the global one, looked up per call. */
class UndiciTransport implements Transport {
  // undici's own timeouts tick every half second: RpcCaller keeps the exact deadline.
  readonly keepsDeadline = false;
  readonly #dispatcher: Dispatcher | undefined;
  /** Each method's URL, parsed once: undici would otherwise parse the string on every call. */
  readonly #urls = new Map<string, URL>();

  constructor(dispatcher: Dispatcher | undefined) {
    this.#dispatcher = dispatcher;
  }

  /**
   * The attempt is given the time left as undici's headers and body
   * timeouts, which tear down a connection that stopped answering; they tick
   * every half second, so the caller's deadline itself is a plain timer (in
   * RpcCaller). An AbortController per call would do both, but costs more
   * than the rest of the client together on a fast loopback call.
   */
  async send(
    target: string,
    body: string,
    headers: HeaderValues,
    signal: AbortSignal | undefined,
    remaining: number,
  ): Promise<Answer> {
    const timeouts = Number.isFinite(remaining) ? { headersTimeout: remaining, bodyTimeout: remaining } : {};
    // undici's request() rather than dispatcher.request(): it needs only `dispatch` of whatever the global
    // dispatcher is (runsd's preload installs one that is not an undici class), looked up per call.
    let url = this.#urls.get(target);
    if (url === undefined) {
      url = new URL(target);
      this.#urls.set(target, url);
    }
    const request = undiciRequest ?? (await loadUndici());
    const response = await request(url, {
      dispatcher: this.#dispatcher,
      method: 'POST',
      headers,
      body,
      signal,
      ...timeouts,
    });
    const status = response.statusCode;
    const success = status >= 200 && status < 300;
    const encoding = response.headers['content-encoding'];
    // Rare (the client does not ask for it), so decoded apart from the common path.
    const text =
      encoding !== undefined && encoding !== 'identity'
        ? await decoded(response.body, String(encoding), success ? undefined : errorBodyLimit)
        : success
          ? await response.body.text()
          : await readCapped(response.body, errorBodyLimit);
    return {
      status,
      reason: STATUS_CODES[status] ?? 'Unknown',
      retryAfter: response.headers['retry-after'],
      contentType: response.headers['content-type'],
      text,
    };
  }

  failure(error: unknown, origin: string, timeout: number): RpcError {
    const code = connectionCode(error);
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT')
      return deadlineExceeded(timeout, "undici's");
    if (isTransportFailure(code)) {
      const reason = error instanceof Error ? error.message : String(error);
      return new RpcError('unavailable', `cannot reach ${origin}: ${code === reason ? code : `${code}, ${reason}`}`, {
        cause: error,
      });
    }
    return failedCall(error, origin);
  }

  /** A refused connection sent nothing. */
  neverSent(error: RpcError): boolean {
    return error.cause !== undefined && connectionCode(error.cause) === 'ECONNREFUSED';
  }
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
