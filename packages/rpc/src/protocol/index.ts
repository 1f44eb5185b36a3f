// The protocol as every client speaks it, whatever carries the bytes: no Node built-ins and no undici here,
// so that the web client that builds on it runs in browsers, Deno, Bun and Workers.
export type { Code } from '../codes.js';
export { type ErrorDetail, isRpcError, RpcError } from '../error.js';
export {
  type Answer,
  type BaseClientOptions,
  type CallOptions,
  type CallReport,
  canceled,
  deadlineExceeded,
  defaultTimeout,
  failedCall,
  type HeaderValues,
  type MethodOptions,
  RpcCaller,
  type Transport,
} from './call.js';
export { errorBodyLimit, errorFromResponse, type FailedAnswer, parseSuccess } from './response.js';
export { backoff, isRetryable, parseRetryAfter, type RetryOptions, type RetryPolicy, retryPolicy } from './retry.js';
export { conform, type FieldShape, type Shape } from './shape.js';
