import type { LogRecord, SpanRecord, TraceRecord } from '../src/views.js';
import { duration, h, view } from './dom.js';

/** The Traces view: the last traces, newest first, and the chosen one's waterfall beside its log lines. */
export function tracesView(traces: TraceRecord[], selected: string | undefined): HTMLElement {
  const chosen = traces.find((trace) => trace.traceId === selected) ?? traces[0];
  return view(
    'traces',
    'Traces',
    'The last requests across all services, live: spans over OTLP from each service, and the lines each logged under the trace.',
    traces.length === 0
      ? h(
          'p',
          { class: 'empty' },
          'No traces yet. Call a service (curl one, or send a request from the API explorer) and its trace appears here.',
        )
      : h(
          'div',
          { class: 'split' },
          h(
            'ol',
            { class: 'trace-list' },
            traces.map((trace) => traceItem(trace, trace === chosen)),
          ),
          chosen === undefined ? null : traceDetail(chosen),
        ),
  );
}

function traceItem(trace: TraceRecord, active: boolean): HTMLElement {
  const root = rootSpan(trace);
  const services = new Set([...trace.spans.map((span) => span.service), ...trace.logs.map((log) => log.service)]);
  const failed = trace.spans.some((span) => span.status === 'error');
  return h(
    'li',
    { class: active ? 'active' : '', 'data-trace': trace.traceId },
    h(
      'a',
      { href: `#/traces/${trace.traceId}` },
      h('span', { class: `dot ${failed ? 'error' : 'ok'}` }),
      h('strong', {}, root === undefined ? `trace ${trace.traceId.slice(0, 8)}` : `${root.service} ${root.name}`),
      h(
        'small',
        {},
        `${trace.spans.length} span${trace.spans.length === 1 ? '' : 's'}${trace.droppedSpans ? ` (${trace.droppedSpans} more not kept)` : ''} · ${[...services].join(', ')}${root ? ` · ${duration(root.end - root.start)}` : ''}`,
      ),
    ),
  );
}

function traceDetail(trace: TraceRecord): HTMLElement {
  const start = Math.min(...trace.spans.map((span) => span.start), ...trace.logs.map((log) => log.time));
  const end = Math.max(...trace.spans.map((span) => span.end), start + 0.001);
  const total = end - start;
  const rows = inTreeOrder(trace.spans);
  return h(
    'div',
    { class: 'trace-detail', 'data-trace': trace.traceId },
    h('h3', {}, 'Trace ', h('code', {}, trace.traceId)),
    rows.length === 0
      ? h(
          'p',
          { class: 'empty' },
          'No spans yet: the services send theirs over OTLP in batches, or have no endpoint set.',
        )
      : h(
          'div',
          { class: 'waterfall' },
          rows.map(({ span, depth }) =>
            h(
              'div',
              { class: `span-row ${span.status}`, 'data-span': span.spanId, title: attributesText(span) },
              h(
                'div',
                { class: 'span-label', style: `padding-left:${depth * 16}px` },
                h('span', { class: 'service' }, span.service),
                ' ',
                h('span', { class: 'name' }, span.name),
                h('span', { class: 'kind' }, span.kind),
              ),
              h(
                'div',
                { class: 'span-track' },
                h('div', {
                  class: 'span-bar',
                  style: `left:${((span.start - start) / total) * 100}%;width:${Math.max(0.5, ((span.end - span.start) / total) * 100)}%`,
                }),
              ),
              h('div', { class: 'span-time' }, duration(span.end - span.start), ' ', outcome(span)),
            ),
          ),
        ),
    h('h3', {}, 'Log lines'),
    trace.logs.length === 0
      ? h('p', { class: 'empty' }, 'No log lines carry this trace.')
      : h('ol', { class: 'logs' }, [...trace.logs].sort((a, b) => a.time - b.time).map(logLine)),
  );
}

function logLine(log: LogRecord): HTMLElement {
  return h(
    'li',
    { class: `log ${log.severity.toLowerCase()}`, 'data-span': log.spanId ?? '' },
    h('time', {}, new Date(log.time).toISOString().slice(11, 23)),
    h('span', { class: 'service' }, log.service),
    h('span', { class: 'severity' }, log.severity),
    h('span', { class: 'message' }, log.message),
  );
}

/** The status a span ended with, as its attributes say: HTTP status and the protocol's code. */
function outcome(span: SpanRecord): string {
  const status = span.attributes['http.response.status_code'];
  const code = span.attributes['rpc.status_code'];
  return [status, code].filter((part) => part !== undefined).join(' ');
}

function attributesText(span: SpanRecord): string {
  return Object.entries(span.attributes)
    .map(([key, value]) => `${key}: ${JSON.stringify(value)}`)
    .join('\n');
}

/** The span nobody in the trace is parent of, first to start: what the trace is named after. */
function rootSpan(trace: TraceRecord): SpanRecord | undefined {
  const ids = new Set(trace.spans.map((span) => span.spanId));
  return trace.spans.find((span) => span.parentSpanId === undefined || !ids.has(span.parentSpanId));
}

/** Parents before children, siblings by start: the waterfall's rows, each with its depth. */
function inTreeOrder(spans: SpanRecord[]): { span: SpanRecord; depth: number }[] {
  const ids = new Set(spans.map((span) => span.spanId));
  const children = new Map<string | undefined, SpanRecord[]>();
  for (const span of spans) {
    const parent = span.parentSpanId !== undefined && ids.has(span.parentSpanId) ? span.parentSpanId : undefined;
    children.set(parent, [...(children.get(parent) ?? []), span]);
  }
  const rows: { span: SpanRecord; depth: number }[] = [];
  const visit = (parent: string | undefined, depth: number) => {
    for (const span of [...(children.get(parent) ?? [])].sort((a, b) => a.start - b.start)) {
      rows.push({ span, depth });
      visit(span.spanId, depth + 1);
    }
  };
  visit(undefined, 0);
  return rows;
}
