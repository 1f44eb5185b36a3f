export { type Code, codeForStatus, codeStatus, codes, isCode, statusForCode } from './codes.js';
export { type ErrorBody, type ErrorDetail, isRpcError, RpcError, type RpcErrorOptions } from './error.js';
