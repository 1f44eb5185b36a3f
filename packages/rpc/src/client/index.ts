export { type CallOptions, type ClientOptions, type HeaderValues, type MethodOptions, RpcClient, defaultTimeout } from './client.js';
export { type RetryOptions } from './retry.js';
export { RpcError, isRpcError } from '../error.js';
export { type Code } from '../codes.js';
