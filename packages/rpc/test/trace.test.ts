import { describe, expect, it } from 'vitest';
import {
  childTraceparent,
  currentTrace,
  runInTrace,
  traceFromHeaders,
  traceLogFields,
  traceLogText,
  traceOfRequest,
} from '../src/trace/index.js';

describe('traceFromHeaders', () => {
  it('reads W3C traceparent', () => {
    expect(traceFromHeaders({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' })).toEqual({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      sampled: true,
    });
  });

  it('reads a traceparent with blanks around it, and its sampled bit from any flags', () => {
    expect(traceFromHeaders({ traceparent: ' 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0b ' })).toEqual({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      sampled: true,
    });
  });

  it('prefers traceparent over X-Cloud-Trace-Context', () => {
    const trace = traceFromHeaders({
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00',
      'x-cloud-trace-context': '105445aa7843bc8bf206b12000100000/1;o=1',
    });
    expect(trace).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', sampled: false });
  });

  it('reads X-Cloud-Trace-Context, turning its decimal span id into hex', () => {
    expect(traceFromHeaders({ 'x-cloud-trace-context': '105445AA7843BC8BF206B12000100000/2748;o=1' })).toEqual({
      traceId: '105445aa7843bc8bf206b12000100000',
      spanId: '0000000000000abc',
      sampled: true,
    });
    expect(traceFromHeaders({ 'x-cloud-trace-context': '105445aa7843bc8bf206b12000100000' })).toEqual({
      traceId: '105445aa7843bc8bf206b12000100000',
    });
  });

  it.each([
    ['a short trace id', { traceparent: '00-4bf92f35-00f067aa0ba902b7-01' }],
    ['an all-zero trace id', { traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' }],
    ['upper-case hex', { traceparent: '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01' }],
    ['a dash out of place', { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e47360-0f067aa0ba902b7-01' }],
    ['flags that are not hex', { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g' }],
    ['a longer traceparent', { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra' }],
    ['garbage', { 'x-cloud-trace-context': 'not a trace' }],
    ['nothing', {}],
  ])('ignores %s', (_case, headers) => {
    expect(traceFromHeaders(headers)).toBeUndefined();
  });

  it('names the project in the trace field when it is known', () => {
    const trace = { traceId: 'abc', spanId: '01', sampled: true };
    expect(traceLogFields(trace, 'taco-project')).toEqual({
      'logging.googleapis.com/trace': 'projects/taco-project/traces/abc',
      'logging.googleapis.com/spanId': '01',
      'logging.googleapis.com/trace_sampled': true,
    });
    expect(traceLogFields({ traceId: 'abc' }, undefined)).toEqual({ 'logging.googleapis.com/trace': 'abc' });
  });

  it.each([
    ['every field', { traceId: 'abc', spanId: '01', sampled: false }, 'taco-project'],
    ['no project', { traceId: 'abc', spanId: '01', sampled: true }, undefined],
    ['the trace alone', { traceId: 'abc' }, undefined],
    ['a project that needs escaping', { traceId: 'abc' }, 'a"b\\c'],
  ])('writes the same fields as JSON text: %s', (_case, trace, project) => {
    const text = traceLogText(project)(trace);
    expect(text.startsWith(',')).toBe(true);
    expect(JSON.parse(`{${text.slice(1)}}`)).toStrictEqual(traceLogFields(trace, project));
  });
});

describe('traceOfRequest', () => {
  it("continues the caller's trace", () => {
    const headers = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00' };
    expect(traceOfRequest(headers)).toEqual(traceFromHeaders(headers));
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

  it('varies every digit of its ids', () => {
    // Each random number fills four bytes: a byte taken from the wrong bits would be the same in every id.
    const traces = Array.from({ length: 200 }, () => traceOfRequest({}));
    for (const key of ['traceId', 'spanId'] as const) {
      const ids = traces.map((trace) => trace[key] ?? '');
      const [first = ''] = ids;
      for (let at = 0; at < first.length; at++) expect(new Set(ids.map((id) => id[at])).size).toBeGreaterThan(8);
    }
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
