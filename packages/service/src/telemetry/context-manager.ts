import { type Context, type ContextManager, ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import { currentTrace, outsideTrace, runInTrace, type TraceContext } from '@taco-run/rpc/trace';

/**
 * OpenTelemetry's active context, kept in the same AsyncLocalStorage as the
 * request's trace rather than in a second one: a handler's
 * `trace.getActiveSpan()` is the request's span, and a span the handler makes
 * active (`tracer.startActiveSpan`) becomes the trace its log lines and calls
 * run in, so they name it as their span and parent.
 */
export class TraceContextManager implements ContextManager {
  active(): Context {
    return (currentTrace()?.otelContext as Context | undefined) ?? ROOT_CONTEXT;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    context: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    const work = () => fn.apply(thisArg, args);
    // The root context is no trace at all: what runs in it names no request's.
    if (context === ROOT_CONTEXT) return outsideTrace(work);
    return runInTrace(traceOf(context), work);
  }

  bind<T>(context: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const manager = this;
    return function (this: unknown, ...args: unknown[]) {
      return manager.with(context, target as (...a: unknown[]) => unknown, this, ...args);
    } as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    return this;
  }
}

/**
 * The trace to run in under `context`: its span's ids, or, for a context
 * with no span of its own (the SDK's export, which marks tracing as
 * suppressed), the current trace's.
 */
function traceOf(context: Context): TraceContext {
  const span = trace.getSpanContext(context);
  if (span === undefined || !trace.isSpanContextValid(span))
    return { ...currentTrace(), otelContext: context } as TraceContext;
  return {
    traceId: span.traceId,
    spanId: span.spanId,
    sampled: (span.traceFlags & TraceFlags.SAMPLED) !== 0,
    otelContext: context,
  };
}
