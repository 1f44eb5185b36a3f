import { describe, expect, it } from 'vitest';
import { readLogLine, spansPerTrace, TraceStore } from '../src/traces.js';
import type { SpanRecord, TraceRecord } from '../src/views.js';

function span(traceId: string, spanId: string, start: number): SpanRecord {
  return {
    traceId,
    spanId,
    name: 'GET /',
    kind: 'server',
    service: 'tacoclient',
    start,
    end: start + 1,
    status: 'unset',
    attributes: {},
  };
}

const traceA = 'a'.repeat(32);
const traceB = 'b'.repeat(32);

describe('readLogLine', () => {
  it("reads a Cloud Logging line's trace (without the project), span, severity, message and time", () => {
    const line = JSON.stringify({
      severity: 'INFO',
      time: '2026-11-26T11:15:13.982Z',
      'logging.googleapis.com/trace': `projects/taco-prod/traces/${traceA}`,
      'logging.googleapis.com/spanId': '70e4ebfd9ca7b161',
      message: 'POST /oto/TacoService.EatTaco 200',
    });
    expect(readLogLine('tacoserver', line)).toEqual({
      service: 'tacoserver',
      time: Date.parse('2026-11-26T11:15:13.982Z'),
      severity: 'INFO',
      message: 'POST /oto/TacoService.EatTaco 200',
      traceId: traceA,
      spanId: '70e4ebfd9ca7b161',
      line,
    });
  });

  it('keeps a line that is not JSON as its own message, with no trace, at the time it was read', () => {
    expect(readLogLine('tacoclient', 'Debugger attached.', 1000)).toEqual({
      service: 'tacoclient',
      time: 1000,
      severity: 'DEFAULT',
      message: 'Debugger attached.',
      line: 'Debugger attached.',
    });
    expect(readLogLine('tacoclient', '{not json', 1000).message).toBe('{not json');
  });
});

describe('TraceStore', () => {
  it('gathers spans and lines by trace, in whatever order they come, spans by start', () => {
    const store = new TraceStore();
    store.addLog(
      readLogLine('tacoclient', JSON.stringify({ 'logging.googleapis.com/trace': traceA, message: 'first' })),
    );
    store.addSpans([span(traceA, '2222222222222222', 20), span(traceA, '1111111111111111', 10)]);
    const trace = store.get(traceA);
    expect(trace?.spans.map((item) => item.spanId)).toEqual(['1111111111111111', '2222222222222222']);
    expect(trace?.logs.map((log) => log.message)).toEqual(['first']);
  });

  it('keeps a span sent twice once', () => {
    const store = new TraceStore();
    store.addSpans([span(traceA, '1111111111111111', 10)]);
    store.addSpans([span(traceA, '1111111111111111', 10)]);
    expect(store.get(traceA)?.spans).toHaveLength(1);
  });

  it('keeps the last N traces changed, newest first, and tells its listeners of each change', () => {
    const store = new TraceStore(2);
    const told: string[] = [];
    const stop = store.subscribe((trace: TraceRecord) => told.push(trace.traceId));
    store.addSpans([span(traceA, '1111111111111111', 10)]);
    store.addSpans([span(traceB, '1111111111111111', 10)]);
    store.addSpans([span(traceA, '2222222222222222', 20)]);
    store.addSpans([span('c'.repeat(32), '1111111111111111', 30)]);
    expect(store.list().map((trace) => trace.traceId)).toEqual(['c'.repeat(32), traceA]);
    stop();
    store.addSpans([span(traceB, '3333333333333333', 40)]);
    expect(told).toEqual([traceA, traceB, traceA, 'c'.repeat(32)]);
  });

  it('keeps the first spans of a trace up to its limit, and counts the rest', () => {
    // 100 posts of 1 000 spans into one trace took 88 s of the runner's CPU, each span found by a scan.
    const store = new TraceStore();
    for (let post = 0; post < 100; post++) {
      store.addSpans(
        Array.from({ length: 1_000 }, (_, i) => span(traceA, (post * 1_000 + i).toString(16).padStart(16, '0'), i)),
      );
    }
    const trace = store.get(traceA);
    expect(trace?.spans).toHaveLength(spansPerTrace);
    expect(trace?.droppedSpans).toBe(100_000 - spansPerTrace);
    // A span kept, sent again with its end, still replaces itself.
    store.addSpans([{ ...span(traceA, '0'.repeat(16), 0), end: 99 }]);
    expect(store.get(traceA)?.spans.find((item) => item.spanId === '0'.repeat(16))?.end).toBe(99);
  });

  it('ignores a line without a trace', () => {
    const store = new TraceStore();
    store.addLog(readLogLine('tacoserver', '{"message":"tacoserver listening at http://127.0.0.1:8080"}'));
    expect(store.list()).toEqual([]);
  });
});
