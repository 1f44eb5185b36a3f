export { currentTrace, outsideTrace, runInTrace } from './context.js';
export {
  childTraceparent,
  type TraceContext,
  traceFromHeaders,
  traceLogFields,
  traceLogText,
  traceOfRequest,
  traceparentOf,
} from './headers.js';
export {
  type RecordingSpan,
  recordSpansWith,
  type SpanAttributes,
  type SpanOutcome,
  type SpanRecorder,
  spanRecorder,
} from './spans.js';
