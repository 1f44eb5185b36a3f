export type { Code } from '../codes.js';
export { isRpcError, RpcError } from '../error.js';
export { type CallOptions, defaultTimeout, type HeaderValues, type MethodOptions } from '../protocol/call.js';
export type { RetryOptions } from '../protocol/retry.js';
export { conform, type FieldShape, type Shape } from '../protocol/shape.js';
export { type ClientOptions, RpcClient } from './client.js';
