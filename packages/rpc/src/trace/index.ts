export { currentTrace, runInTrace } from './context.js';
export { childTraceparent, type TraceContext, traceFromHeaders, traceLogFields, traceOfRequest } from './headers.js';
