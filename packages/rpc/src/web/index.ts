// The client for browsers and edge runtimes: fetch only, no Node built-ins, no undici.
export type { Code } from '../codes.js';
export { type ErrorDetail, isRpcError, RpcError } from '../error.js';
export { type CallOptions, defaultTimeout, type HeaderValues, type MethodOptions } from '../protocol/call.js';
export type { RetryOptions } from '../protocol/retry.js';
export { conform, type FieldShape, type Shape } from '../protocol/shape.js';
export { type WebClientOptions, WebRpcClient } from './client.js';
