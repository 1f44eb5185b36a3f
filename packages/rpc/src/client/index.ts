export type { Code } from '../codes.js';
export { isRpcError, RpcError } from '../error.js';
export {
  type CallOptions,
  type ClientOptions,
  defaultTimeout,
  type HeaderValues,
  type MethodOptions,
  RpcClient,
} from './client.js';
export type { RetryOptions } from './retry.js';
export { conform, type FieldShape, type Shape } from './shape.js';
