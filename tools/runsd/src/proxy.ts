import {
  createServer,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import type { AddressInfo } from 'node:net';
import { type HeaderMap, toHeaderMap } from './headers.js';
import { MetadataGuard, MetadataRefusal } from './metadata-guard.js';
import type { Router } from './router.js';

/** Cloud Run's limit on an HTTP/1 request, body included. */
const cloudRunRequestLimit = 32 * 1024 * 1024;

/** Hop-by-hop headers (RFC 9110 §7.6.1) and the proxy's own: never forwarded. */
const hopByHop = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];

/**
 * The proxy's own connections upstream, bounded: so many at once per host,
 * a few kept idle, and none left silent longer than Cloud Run's longest
 * request (60 minutes) allows.
 */
const agentOptions = { keepAlive: true, maxSockets: 256, maxFreeSockets: 32, timeout: 3_600_000 };

export interface RunningProxy {
  /** `http://127.0.0.1:<port>`, for HTTP_PROXY. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * The path for apps in any language: a forward proxy on loopback, offered
 * through HTTP_PROXY. It routes exactly as the preload does. Bodies stream
 * through in both directions. It forwards with node:http's keep-alive
 * agents, not undici, so the runsd process itself starts without loading
 * an HTTP client library.
 *
 * CONNECT is refused: runsd only offers itself for http:// (it sets no
 * HTTPS_PROXY), it could not add a token inside TLS anyway, and tunnelling
 * arbitrary hosts would make it an open relay for anything on the machine.
 */
export async function startProxy(
  router: Router,
  port = 0,
  { guard = new MetadataGuard(process.env) }: { guard?: MetadataGuard } = {},
): Promise<RunningProxy> {
  const upstream = new Upstream();
  const server: Server = createServer((request, response) => {
    handle(router, upstream, guard, request, response).catch((error: Error) =>
      fail(response, 502, `runsd proxy: ${error.message}\n`),
    );
  });
  server.on('connect', (_request: IncomingMessage, socket) => {
    // A CONNECT socket leaves the server's bookkeeping, so it is closed here or server.close() would wait on it.
    socket.end(
      'HTTP/1.1 405 Method Not Allowed\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nrunsd proxy: CONNECT is not supported; send plain http:// requests\n',
      () => socket.destroy(),
    );
  });
  server.listen(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        upstream.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * The proxy's agents upstream. node:https is loaded on the first https
 * forward: TLS and crypto are most of what loading it costs, and runsd's
 * start-up, on every cold start, needs neither.
 */
class Upstream {
  readonly http = new HttpAgent(agentOptions);
  #https: { agent: HttpsAgent; request: typeof import('node:https').request } | undefined;

  https(): { agent: HttpsAgent; request: typeof import('node:https').request } {
    if (this.#https === undefined) {
      const https = process.getBuiltinModule('node:https');
      this.#https = { agent: new https.Agent(agentOptions), request: https.request };
    }
    return this.#https;
  }

  destroy(): void {
    this.http.destroy();
    this.#https?.agent.destroy();
  }
}

async function handle(
  router: Router,
  upstream: Upstream,
  guard: MetadataGuard,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  // Bound to 127.0.0.1 already; checked again so a token can never be served off the machine.
  if (!isLoopback(request.socket.remoteAddress))
    return fail(response, 403, 'runsd proxy: only this machine may use the proxy\n');
  if (request.url === undefined || !request.url.startsWith('http://')) {
    return fail(response, 400, 'runsd proxy: send absolute http:// URLs here (as HTTP_PROXY does)\n');
  }
  const url = new URL(request.url);
  const refuse = () =>
    fail(response, 403, `runsd proxy: ${url.host} is the metadata server; call it directly, not through the proxy\n`);
  await guard.ready();
  if (guard.refusesHost(url.hostname, Number(url.port || 80))) return refuse();
  const headers = withoutHopByHop(toHeaderMap(request.headers));
  const route = await router.route(url.host, headers);
  if (route.kind === 'fail') return fail(response, route.status, route.message);
  // What Cloud Run's front end would refuse is refused here, in its words, before any byte goes on: a
  // service would otherwise have to stop reading a body this large mid-way, and the client's write fail.
  const length = Number(request.headers['content-length'] ?? 0);
  if (route.kind !== 'passthrough' && length > cloudRunRequestLimit) {
    return fail(
      response,
      413,
      `runsd proxy: a ${length}-byte body is over Cloud Run's limit on a request (32 MiB), which it refuses with 413\n`,
    );
  }
  const [origin, routed] =
    route.kind === 'passthrough' ? [url, { ...headers, host: url.host }] : [new URL(route.origin), route.headers];
  const secure = origin.protocol === 'https:';
  // Where the connection goes, checked again as an address: at the lookup that connects, for a name.
  const port = Number(origin.port || (secure ? 443 : 80));
  if (guard.refusesHost(origin.hostname, port)) return refuse();
  const outgoing = framed(request, routed);
  const forward = (secure ? upstream.https().request : httpRequest)({
    protocol: origin.protocol,
    // The URL keeps an IPv6 literal in brackets; a socket wants the address alone.
    hostname: origin.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: origin.port,
    method: request.method,
    path: url.pathname + url.search,
    headers: outgoing,
    agent: secure ? upstream.https().agent : upstream.http,
    lookup: guard.lookupFor(port),
  });
  forward.on('response', (answer) => {
    response.writeHead(answer.statusCode ?? 502, withoutHopByHop(answer.headers as HeaderMap));
    answer.pipe(response);
    answer.on('error', () => response.destroy());
    if (!request.complete) {
      // An answer before the whole body (a 413): the rest is not sent on. It is read and dropped, so the
      // client's writes do not fail before it reads the answer, and the upstream connection, left mid-body,
      // is not used again.
      request.unpipe(forward);
      request.resume();
      response.on('finish', () => forward.destroy());
    }
  });
  // A client that goes away takes its upstream request with it; else a stalled upload holds a connection there.
  response.on('close', () => {
    if (!response.writableFinished) forward.destroy();
  });
  // The agent's timeout only reports a silent socket; ending it is the request's to do.
  forward.on('timeout', () => forward.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
  forward.on('error', (error: NodeJS.ErrnoException) =>
    error instanceof MetadataRefusal
      ? refuse()
      : fail(response, 502, `runsd proxy: ${url.host} could not be reached: ${error.code ?? error.message}\n`),
  );
  request.pipe(forward);
}

/**
 * The body's framing, restated for the upstream hop. Transfer-Encoding is
 * hop-by-hop, so it is dropped with the others, but node:http frames a GET,
 * DELETE or OPTIONS body only when told to: left alone, a chunked body would
 * reach a shared keep-alive connection unframed, where the upstream would
 * read it as the next request. Content-Length is end-to-end and stays.
 */
function framed(request: IncomingMessage, headers: HeaderMap): HeaderMap {
  if (request.headers['transfer-encoding'] === undefined) return headers;
  return { ...headers, 'transfer-encoding': 'chunked' };
}

function withoutHopByHop(headers: HeaderMap): HeaderMap {
  const result = { ...headers };
  for (const name of hopByHop) delete result[name];
  return result;
}

function fail(response: ServerResponse, status: number, message: string): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(message);
}

function isLoopback(address: string | undefined): boolean {
  return (
    address === '127.0.0.1' ||
    address === '::1' ||
    address === '::ffff:127.0.0.1' ||
    (address?.startsWith('127.') ?? false)
  );
}
