import { describe, expect, it } from 'vitest';
import { childTraceparent, currentTrace, runInTrace, traceFromHeaders, traceOfRequest } from '../src/trace/index.js';

describe('traceOfRequest', () => {
  it("continues the caller's trace", () => {
    expect(traceOfRequest({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00' })).toEqual({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      sampled: false,
    });
  });

  it('starts a recorded trace when the caller sent none, a new one each time', () => {
    const traces = Array.from({ length: 100 }, () => traceOfRequest({}));
    for (const trace of traces) {
      expect(trace.traceId).toMatch(/^[\da-f]{32}$/);
      expect(trace.spanId).toMatch(/^[\da-f]{16}$/);
      expect(trace.sampled).toBe(true);
    }
    expect(new Set(traces.map((trace) => trace.traceId)).size).toBe(100);
  });

  it('starts a new trace rather than trust an all-zero span', () => {
    const headers = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01' };
    expect(traceFromHeaders(headers)).toBeUndefined();
    expect(traceOfRequest(headers).traceId).not.toBe('4bf92f3577b34da6a3ce929d0e0e4736');
  });
});

describe('childTraceparent', () => {
  it('keeps the trace and its sampling, with a new span each time', () => {
    const trace = { traceId: 'aaaabbbbccccddddeeeeffff00001111', spanId: '0000000000000001', sampled: true };
    const children = Array.from({ length: 50 }, () => childTraceparent(trace));
    for (const child of children) expect(child).toMatch(/^00-aaaabbbbccccddddeeeeffff00001111-[\da-f]{16}-01$/);
    expect(new Set(children).size).toBe(50);
    // What X-Cloud-Trace-Context without `;o=` leaves open is passed on as not sampled.
    expect(childTraceparent({ traceId: trace.traceId })).toMatch(/-00$/);
  });
});

describe('runInTrace', () => {
  it('is seen by the code it runs, across awaits, and not outside it', async () => {
    const trace = { traceId: 'aaaabbbbccccddddeeeeffff00001111', spanId: '0000000000000001', sampled: true };
    expect(currentTrace()).toBeUndefined();
    const seen = await runInTrace(trace, async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return currentTrace();
    });
    expect(seen).toBe(trace);
    expect(currentTrace()).toBeUndefined();
  });
});
