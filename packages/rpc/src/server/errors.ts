import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { type Code, codeForStatus } from '../codes.js';
import { isRpcError, RpcError } from '../error.js';
import { describeValidationErrors, type JsonSchema } from './validation.js';

/**
 * Every way a call can fail on the server, mapped to the protocol's
 * `{error, code, details?}`. Fastify's own errors keep their meaning; anything
 * else is a bug in the implementation, so the caller learns only that it failed.
 */
export function toRpcError(error: unknown, request: FastifyRequest): RpcError {
  if (isRpcError(error)) return error;
  const fastifyError = error as Partial<FastifyError> | undefined;
  if (fastifyError?.validation !== undefined) {
    const schema = (request.routeOptions.schema?.body ?? {}) as JsonSchema;
    const { message, details } = describeValidationErrors(fastifyError.validation as never, schema);
    return new RpcError('invalid_argument', message, { details });
  }
  switch (fastifyError?.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new RpcError('malformed', 'the request body is not valid JSON');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new RpcError('malformed', 'the request body is empty; send a JSON object');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new RpcError('malformed', 'the request body does not match its Content-Length');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new RpcError(
        'payload_too_large',
        `the request body is over the limit of ${request.routeOptions.bodyLimit} bytes`,
      );
    case 'FST_ERR_BAD_URL':
      return new RpcError('malformed', 'the URL is not valid: it has a bad %-escape or character');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new RpcError(
        'unsupported_media_type',
        `unsupported Content-Type ${JSON.stringify(request.headers['content-type'] ?? '')}; send application/json`,
      );
  }
  const status = fastifyError?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // Any other client error Fastify raises (a bad header, an aborted upload): its message is safe to show.
    return new RpcError(codeForStatus(status), fastifyError?.message ?? 'bad request', { status });
  }
  return new RpcError('internal', 'internal error', { cause: error });
}

/** The code each failed request was answered with, for its span (a 4xx status alone does not say which). */
const answeredCodes = new WeakMap<FastifyRequest, Code>();

/** The protocol's code of the error a request was answered with, if it was. */
export function errorCodeOf(request: FastifyRequest): Code | undefined {
  return answeredCodes.get(request);
}

export function sendRpcError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const rpcError = toRpcError(error, request);
  answeredCodes.set(request, rpcError.code);
  if (rpcError.status >= 500) {
    // What went wrong unforeseen (the cause of an `internal`) is logged with its stack; an RpcError thrown on
    // purpose (the database is down: 503 `unavailable`) says all in its code and message, and a stack per request
    // would bury the one line that its cause was logged with.
    if (rpcError.cause === undefined) request.log.error({ code: rpcError.code }, rpcError.message);
    else request.log.error({ err: rpcError.cause, code: rpcError.code }, rpcError.message);
  } else {
    request.log.info({ code: rpcError.code }, rpcError.message);
  }
  return reply.code(rpcError.status).type('application/json; charset=utf-8').send(JSON.stringify(rpcError.toJSON()));
}
