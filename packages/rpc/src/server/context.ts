import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import { RpcError } from '../error.js';

/** What a service implementation gets besides the request body. */
export interface RpcContext {
  /** The caller's HTTP headers, lowercased as Node gives them. */
  readonly headers: IncomingHttpHeaders;
  /** The request's logger: its lines carry the request id (and trace, where the app adds it). */
  readonly log: FastifyBaseLogger;
  /** Fires when the caller goes away before the answer is sent, so work on its behalf can stop. */
  readonly signal: AbortSignal;
  /** The Fastify request, for what the fields above do not cover. */
  readonly request: FastifyRequest;
}

export class RequestContext implements RpcContext {
  readonly request: FastifyRequest;
  readonly #reply: FastifyReply;
  #controller: AbortController | undefined;

  constructor(request: FastifyRequest, reply: FastifyReply) {
    this.request = request;
    this.#reply = reply;
  }

  get headers(): IncomingHttpHeaders {
    return this.request.headers;
  }

  get log(): FastifyBaseLogger {
    return this.request.log;
  }

  // Made on first use: most handlers never look, and a listener per request is not free.
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      const controller = new AbortController();
      this.#controller = controller;
      const response = this.#reply.raw;
      const abort = () => controller.abort(new RpcError('canceled', 'the caller went away'));
      if (response.destroyed && !response.writableFinished) abort();
      else
        response.once('close', () => {
          if (!response.writableFinished) abort();
        });
    }
    return this.#controller.signal;
  }
}
