export type { Code } from '../codes.js';
export { isRpcError, RpcError } from '../error.js';
export type { RpcContext } from './context.js';
export { sendRpcError, toRpcError } from './errors.js';
export {
  defaultBodyLimit,
  type RpcMethod,
  type RpcServerOptions,
  type RpcService,
  registerRpcServices,
} from './plugin.js';
export type { JsonSchema } from './validation.js';
