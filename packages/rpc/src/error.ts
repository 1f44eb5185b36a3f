import { type Code, isCode, statusForCode } from './codes.js';

/** One validation failure: where in the request, and what is wrong there. */
export interface ErrorDetail {
  /** A JavaScript-style path into the request body, e.g. `tacos[0]`. */
  path: string;
  message: string;
}

/** The JSON body of every failed call on the wire. `error` is what oto clients read. */
export interface ErrorBody {
  error: string;
  code: Code;
  details?: ErrorDetail[];
}

export interface RpcErrorOptions {
  details?: ErrorDetail[];
  /** The HTTP status seen or sent; defaults to the code's row in the table. */
  status?: number;
  /** For responses that were not ours: the first bytes of the body, to debug the hop that sent it. */
  body?: string;
  /** How long the server asked the caller to wait (a 429 or 503 with Retry-After), in ms. */
  retryAfter?: number;
  cause?: unknown;
}

/**
 * The error both ends of a call speak. Thrown by a service implementation, it
 * becomes the response; received by a client, it is thrown back to the caller.
 */
export class RpcError extends Error {
  override readonly name = 'RpcError';
  readonly code: Code;
  readonly status: number;
  readonly details: ErrorDetail[] | undefined;
  readonly body: string | undefined;
  readonly retryAfter: number | undefined;

  constructor(code: Code, message: string, options: RpcErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status ?? statusForCode(code);
    this.details = options.details;
    this.body = options.body;
    this.retryAfter = options.retryAfter;
  }

  toJSON(): ErrorBody {
    const body: ErrorBody = { error: this.message, code: this.code };
    if (this.details !== undefined && this.details.length > 0) body.details = this.details;
    return body;
  }
}

/** Recognises RpcErrors from another copy of this package too (bundles can hold two). */
export function isRpcError(error: unknown): error is RpcError {
  return (
    error instanceof RpcError ||
    (error instanceof Error && error.name === 'RpcError' && isCode((error as { code?: unknown }).code))
  );
}
