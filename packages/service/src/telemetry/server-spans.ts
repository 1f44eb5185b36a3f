import { errorCodeOf } from '@taco-run/rpc/server';
import {
  type RecordingSpan,
  runInTrace,
  type SpanAttributes,
  type SpanOutcome,
  spanRecorder,
  traceFromHeaders,
  traceOfRequest,
} from '@taco-run/rpc/trace';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { startTelemetry, type Telemetry } from './index.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `false`: requests to the route get no span of their own (a health probe's would crowd out the rest). */
    span?: boolean;
  }
}

type RouteOptions = FastifyRequest['routeOptions'];

/** How long a stopping service waits for its last spans to go out: Cloud Run allows 10 s from SIGTERM to exit. */
const flushTimeout = 2_000;

/**
 * A span for every request the app answers, exported through OpenTelemetry's
 * SDK, which the app loads before it listens. Each request runs in its span's
 * trace, so its log lines carry the span's id and its calls are the span's
 * children. Registered instead of the span-free trace hook, only when
 * telemetry is on, so that a service without it runs no hook of this.
 */
export function recordServerSpans(app: FastifyInstance, service: string): void {
  const spans = new WeakMap<FastifyRequest, RecordingSpan>();
  let telemetry: Telemetry | undefined;

  app.addHook('onReady', async () => {
    telemetry = await startTelemetry(service, (message) => app.log.warn(message));
  });
  app.addHook('onRequest', (request, _reply, done) => {
    const recorder = spanRecorder();
    // Read once: Fastify builds the object anew on every read.
    const route = request.routeOptions;
    if (recorder === undefined || route.config.span === false) {
      return runInTrace(traceOfRequest(request.headers), done);
    }
    const span = recorder.startServer(spanName(request, route), traceFromHeaders(request.headers), () =>
      serverAttributes(request, route),
    );
    spans.set(request, span);
    runInTrace(span.trace, done);
  });
  // Ended once, whichever comes first: a request whose caller hung up may still be answered into the void.
  const end = (request: FastifyRequest, outcome: SpanOutcome) => {
    const span = spans.get(request);
    spans.delete(request);
    span?.end(outcome);
  };
  app.addHook('onResponse', (request, reply, done) => {
    end(request, { status: reply.statusCode, code: errorCodeOf(request) });
    done();
  });
  // A caller that hangs up gets no answer; its span still ends, as a client-side cancel.
  app.addHook('onRequestAbort', (request, done) => {
    end(request, { code: 'canceled' });
    done();
  });
  app.addHook('onClose', async () => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        app.log.warn(`telemetry: the last spans were not exported within ${flushTimeout} ms`);
        resolve();
      }, flushTimeout);
    });
    await Promise.race([telemetry?.flush(), late]).finally(() => clearTimeout(timer));
  });
}

/** As the conventions name server spans: an RPC route by its method, `TacoService.EatTaco`; others `GET /route`. */
function spanName(request: FastifyRequest, { config, url }: RouteOptions): string {
  return config.rpcMethod ?? (url === undefined ? request.method : `${request.method} ${url}`);
}

/** A request's attributes, as OpenTelemetry's HTTP server (and, for an RPC route, RPC) conventions name them. */
function serverAttributes(request: FastifyRequest, { config, url }: RouteOptions): SpanAttributes {
  const attributes: SpanAttributes = {
    'http.request.method': request.method,
    'url.path': request.url.split('?', 1)[0] ?? request.url,
    'url.scheme': request.protocol,
    'server.address': request.hostname,
    'client.address': request.ip,
  };
  if (url !== undefined) attributes['http.route'] = url;
  if (request.port !== null) attributes['server.port'] = request.port;
  const userAgent = request.headers['user-agent'];
  if (userAgent !== undefined) attributes['user_agent.original'] = userAgent;
  if (config.rpcMethod !== undefined) {
    attributes['rpc.system.name'] = 'oto';
    attributes['rpc.method'] = config.rpcMethod;
  }
  return attributes;
}
