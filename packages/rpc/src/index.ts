export { type Code, codes, codeStatus, codeForStatus, isCode, statusForCode } from './codes.js';
export { type ErrorBody, type ErrorDetail, RpcError, type RpcErrorOptions, isRpcError } from './error.js';
