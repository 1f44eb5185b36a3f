/** A compiled validator (Ajv's), such as the generated validators.js exports. */
export type { ValidateFunction as Validator } from 'ajv';
export type { Code } from '../codes.js';
export { isRpcError, RpcError } from '../error.js';
export type { RpcContext } from './context.js';
export { errorCodeOf, sendRpcError, toRpcError } from './errors.js';
export {
  corsOriginsRule,
  defaultBodyLimit,
  isOrigin,
  originList,
  type RpcMethod,
  type RpcServerOptions,
  type RpcService,
  registerRpcServices,
} from './plugin.js';
export { serializerRuntime } from './serializer-runtime.js';
export {
  compileValidator,
  type JsonSchema,
  responseCheckSchema,
  validatorFormats,
  validatorOptions,
} from './validation.js';
export { ajvRuntime } from './validator-runtime.js';
