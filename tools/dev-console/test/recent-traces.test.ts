import { describe, expect, it } from 'vitest';
import { RecentTraces } from '../page/recent-traces.js';

// The page's own list of traces: as many as the console keeps, however many the stream sends.

const trace = (n: number) => ({ traceId: n.toString(16).padStart(32, '0'), spans: [], logs: [], updated: n });

describe("the page's recent traces", () => {
  it('keep the last N changed, newest first, after 3 000 arrive', () => {
    const traces = new RecentTraces(50);
    for (let n = 1; n <= 3_000; n++) traces.add(trace(n));
    const list = traces.list();
    expect(list).toHaveLength(50);
    expect(list[0]?.updated).toBe(3_000);
    expect(list[49]?.updated).toBe(2_951);
  });

  it('move a trace that changes to the front, once', () => {
    const traces = new RecentTraces(3);
    for (const n of [1, 2, 3]) traces.add(trace(n));
    traces.add({ ...trace(1), updated: 4 });
    expect(traces.list().map((item) => item.updated)).toEqual([4, 3, 2]);
    traces.add(trace(5));
    expect(traces.list().map((item) => item.updated)).toEqual([5, 4, 3]);
  });
});
