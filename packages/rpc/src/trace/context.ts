import { AsyncLocalStorage } from 'node:async_hooks';
import type { TraceContext } from './headers.js';

/**
 * The trace of the request being handled, wherever its handler's code has got
 * to: the service kit enters it as each request arrives, and the generated
 * client reads it to send a child `traceparent` on every call made on the
 * request's behalf, with no code in the handler.
 */
const storage = new AsyncLocalStorage<TraceContext>();

/** Runs `work` (and everything it starts) within `trace`. */
export function runInTrace<R, A extends unknown[]>(trace: TraceContext, work: (...args: A) => R, ...args: A): R {
  return storage.run(trace, work, ...args);
}

/**
 * Runs `work` outside any trace: for what a service does on no request's
 * behalf, though something it does for one set it going (a timer a request
 * started, say), so that its log lines name no request's trace.
 */
export function outsideTrace<R>(work: () => R): R {
  return storage.exit(work);
}

/** The trace of the request this code runs for, if any. */
export function currentTrace(): TraceContext | undefined {
  return storage.getStore();
}
