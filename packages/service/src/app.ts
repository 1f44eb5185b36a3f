import { RpcError } from '@taco-run/rpc';
import { sendRpcError } from '@taco-run/rpc/server';
import Fastify, { type FastifyInstance } from 'fastify';
import { CloudRunLogController, cloudLoggingOptions } from './logging.js';
import { traceFromHeaders, traceLogFields } from './trace.js';

export interface ServiceAppOptions {
  /** The service's name, as on Cloud Run: `tacoserver`. */
  name: string;
  /** pino's level. Default info. */
  logLevel?: string;
  /** The Google Cloud project, to link log lines to their trace. */
  project?: string | undefined;
}

/**
 * A Fastify app that behaves as a Cloud Run service should: JSON log lines
 * for Cloud Logging with the caller's trace on every line of a request, one
 * `httpRequest` line per answer, and `GET /healthz` for the startup probe.
 */
export function createServiceApp({ name, logLevel = 'info', project }: ServiceAppOptions): FastifyInstance {
  const app = Fastify({
    logger: cloudLoggingOptions(logLevel),
    logController: new CloudRunLogController(),
    // Binding the trace when the request's logger is made puts it on every line, with no per-line cost.
    childLoggerFactory(logger, bindings, options, raw) {
      const trace = traceFromHeaders(raw.headers);
      return logger.child(trace === undefined ? bindings : { ...bindings, ...traceLogFields(trace, project) }, options);
    },
    // Errors Fastify meets before routing (a URL it cannot decode) answer in the protocol's shape too.
    frameworkErrors: (error, request, reply) => sendRpcError(error, request, reply),
  });
  // Whatever is not one of the service's own answers is a protocol error: `{error, code}`, a code from the table.
  app.setErrorHandler((error, request, reply) => sendRpcError(error, request, reply));
  app.setNotFoundHandler((request, reply) =>
    sendRpcError(
      new RpcError('not_found', `no route for ${request.method} ${request.url.split('?', 1)[0]}`),
      request,
      reply,
    ),
  );
  app.get('/healthz', async () => ({ status: 'ok', service: name }));
  return app;
}
