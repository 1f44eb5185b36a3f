import type { Duplex } from 'node:stream';
import { RpcError } from '@taco-run/rpc';
import { sendRpcError } from '@taco-run/rpc/server';
import { runInTrace, traceOfRequest } from '@taco-run/rpc/trace';
import Fastify, { type FastifyInstance } from 'fastify';
import { flag, origins, parseEnv, seconds } from './config.js';
import { CloudRunLogController, cloudLoggingOptions, stdoutLines } from './logging.js';
import { telemetryWanted } from './telemetry/index.js';
import { recordServerSpans } from './telemetry/server-spans.js';

export interface ServiceAppOptions {
  /** The service's name, as on Cloud Run: `tacoserver`. */
  name: string;
  /** pino's level. Default info. */
  logLevel?: string;
  /** The Google Cloud project, to link log lines to their trace. */
  project?: string | undefined;
  /**
   * How long a request may take to arrive, in seconds. Default: REQUEST_TIMEOUT_SECONDS, which
   * the dev runner, the emulator and the deploy set from service.json's cloudRun.timeoutSeconds,
   * else 290, under Cloud Run's default of 300.
   */
  requestTimeoutSeconds?: number;
  /**
   * One access line per answered request (Cloud Logging's `httpRequest`). Default: LOG_REQUESTS,
   * else on, except on Cloud Run (K_SERVICE set), whose own request log already holds every field
   * of it: there the line would cost CPU and log volume for a copy. Errors are logged either way.
   */
  logRequests?: boolean;
  /**
   * A span per request (and per call it makes), exported over OTLP through OpenTelemetry's SDK.
   * Default: on when OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set.
   * Off, no OpenTelemetry module is loaded and requests pay nothing for it.
   */
  telemetry?: boolean;
}

/**
 * Longer than Google's front end keeps an idle connection to a backend
 * (600 s), so the front end, not the service, closes idle connections: a
 * connection closed from this side as a request is sent on it fails that request.
 */
const keepAliveTimeout = 620_000;

/**
 * A Fastify app that behaves as a Cloud Run service should: JSON log lines
 * for Cloud Logging with the caller's trace on every line of a request, one
 * `httpRequest` line per answer (off on Cloud Run unless asked for), spans
 * over OTLP when an endpoint is set, and `GET /healthz` for the startup probe.
 */
export function createServiceApp({
  name,
  logLevel = 'info',
  project,
  requestTimeoutSeconds = parseEnv({ REQUEST_TIMEOUT_SECONDS: seconds(290) }).REQUEST_TIMEOUT_SECONDS,
  logRequests = parseEnv({ LOG_REQUESTS: flag(!process.env.K_SERVICE) }).LOG_REQUESTS,
  telemetry = telemetryWanted(),
}: ServiceAppOptions): FastifyInstance {
  // The RPC routes read CORS_ORIGINS themselves; checked here too, so that a wrong one is said in one line at start.
  parseEnv({ CORS_ORIGINS: origins });
  const requestTimeout = requestTimeoutSeconds * 1000;
  const app = Fastify({
    // A client that stalls mid-request holds a connection no longer than a request may take, with headers
    // due within a minute; the server checks both often enough to keep to a short timeout too.
    requestTimeout,
    keepAliveTimeout,
    http: {
      headersTimeout: Math.min(60_000, requestTimeout),
      connectionsCheckingInterval: Math.min(30_000, Math.max(250, requestTimeout / 4)),
    },
    clientErrorHandler: (error, socket) => answerClientError(error, socket, requestTimeoutSeconds),
    logger: { ...cloudLoggingOptions(logLevel, name, project), stream: stdoutLines },
    logController: new CloudRunLogController({ accessLines: logRequests, project }),
    // Errors Fastify meets before routing (a URL it cannot decode) answer in the protocol's shape too.
    frameworkErrors: (error, request, reply) => sendRpcError(error, request, reply),
  });
  // The rest of the request runs within its trace (or its span's): its log lines carry it, and the generated
  // client's calls carry it on. First, so that every other hook runs within it too.
  if (telemetry) recordServerSpans(app, name);
  else app.addHook('onRequest', (request, _reply, done) => runInTrace(traceOfRequest(request.headers), done));
  // Whatever is not one of the service's own answers is a protocol error: `{error, code}`, a code from the table.
  app.setErrorHandler((error, request, reply) => sendRpcError(error, request, reply));
  app.setNotFoundHandler((request, reply) =>
    sendRpcError(
      new RpcError('not_found', `no route for ${request.method} ${request.url.split('?', 1)[0]}`),
      request,
      reply,
    ),
  );
  // Probed every few seconds (Cloud Run's startup probe, the dev console): a span each would bury the requests.
  app.get('/healthz', { config: { span: false } }, async () => ({ status: 'ok', service: name }));
  return app;
}

/**
 * Errors Node meets before there is a request to route, answered in the
 * protocol's shape: a request that did not arrive in time gets what Cloud Run
 * answers a request over its timeout (504 deadline_exceeded); headers over
 * Node's limit keep HTTP's own 431, as `malformed`; anything else the parser
 * refused is 400 malformed. The connection closes either way.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex, timeoutSeconds: number): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const [status, body] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [
          '504 Gateway Timeout',
          { error: `the request did not arrive within ${timeoutSeconds} s`, code: 'deadline_exceeded' },
        ]
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [
            '431 Request Header Fields Too Large',
            { error: "the request's headers are over the limit", code: 'malformed' },
          ]
        : ['400 Bad Request', { error: 'the request could not be parsed as HTTP', code: 'malformed' }];
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
  );
}
