export { type RpcContext } from './context.js';
export { sendRpcError, toRpcError } from './errors.js';
export {
  type RpcMethod,
  type RpcServerOptions,
  type RpcService,
  defaultBodyLimit,
  registerRpcServices,
} from './plugin.js';
export { type JsonSchema } from './validation.js';
export { RpcError, isRpcError } from '../error.js';
export { type Code } from '../codes.js';
