import type { ServiceView } from '../src/views.js';
import { h, svg, view } from './dom.js';

/** The Services view: each service, its URL and health, whom it calls and who may call it, and the call graph. */
export function servicesView(services: ServiceView[]): HTMLElement {
  return view(
    'services',
    'Services',
    'Every service of services/*/service.json, its health (GET /healthz, polled), and who calls whom.',
    callGraph(services),
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', {}, 'Service'),
          h('th', {}, 'Health'),
          h('th', {}, 'URL'),
          h('th', {}, 'Serves'),
          h('th', {}, 'Calls'),
          h('th', {}, 'May be called by'),
        ),
      ),
      h(
        'tbody',
        {},
        services.map((service) =>
          h(
            'tr',
            { 'data-service': service.name },
            h(
              'td',
              {},
              h('strong', {}, service.name),
              service.public ? h('span', { class: 'tag' }, 'public') : h('span', { class: 'tag private' }, 'private'),
            ),
            h(
              'td',
              {},
              h('span', { class: `health ${service.health}`, title: service.healthDetail ?? '' }, service.health),
              service.healthDetail ? h('small', {}, ` ${service.healthDetail}`) : null,
            ),
            h('td', {}, h('a', { href: service.url, target: '_blank' }, service.url)),
            h('td', {}, service.serves.join(', ') || '—'),
            h('td', {}, service.calls.join(', ') || '—'),
            h('td', {}, callers(service)),
          ),
        ),
      ),
    ),
  );
}

/**
 * Who may call a service on Cloud Run: anyone if it is public, else the
 * services that call it and its invokers; the project's owners may call any.
 */
function callers(service: ServiceView): string {
  if (service.public) return 'anyone (public)';
  return [...service.calledBy, ...service.invokers].join(', ') || 'the project’s owners only';
}

const nodeWidth = 150;
const nodeHeight = 44;
const columnGap = 90;
const rowGap = 24;

/**
 * The services as boxes in columns by how deep in the call graph they sit (a
 * service nobody calls on the left, what it calls to its right), with an
 * arrow for every call, each box coloured by health.
 */
function callGraph(services: ServiceView[]): SVGElement {
  const depth = new Map<string, number>();
  const place = (name: string, level: number, trail: Set<string>) => {
    if (trail.has(name) || (depth.get(name) ?? -1) >= level) return;
    depth.set(name, level);
    const service = services.find((candidate) => candidate.name === name);
    for (const callee of service?.calls ?? []) place(callee, level + 1, new Set([...trail, name]));
  };
  for (const service of services) if (service.calledBy.length === 0) place(service.name, 0, new Set());
  for (const service of services) if (!depth.has(service.name)) place(service.name, 0, new Set());

  const columns: string[][] = [];
  for (const service of services) {
    const column = depth.get(service.name) ?? 0;
    columns[column] = [...(columns[column] ?? []), service.name];
  }
  const position = new Map<string, { x: number; y: number }>();
  for (const [column, names] of columns.entries()) {
    for (const [row, name] of (names ?? []).entries()) {
      position.set(name, { x: 10 + column * (nodeWidth + columnGap), y: 10 + row * (nodeHeight + rowGap) });
    }
  }
  const width = 20 + columns.length * nodeWidth + (columns.length - 1) * columnGap;
  const height = 20 + Math.max(1, ...columns.map((names) => names.length)) * (nodeHeight + rowGap) - rowGap;

  const edges = services.flatMap((service) =>
    service.calls.map((callee) => {
      const from = position.get(service.name);
      const to = position.get(callee);
      if (from === undefined || to === undefined) return null;
      return svg('line', {
        x1: from.x + nodeWidth,
        y1: from.y + nodeHeight / 2,
        x2: to.x - 4,
        y2: to.y + nodeHeight / 2,
        class: 'edge',
        'marker-end': 'url(#arrow)',
      });
    }),
  );
  const nodes = services.map((service) => {
    const at = position.get(service.name) ?? { x: 0, y: 0 };
    return svg(
      'g',
      { class: `node ${service.health}`, transform: `translate(${at.x},${at.y})` },
      svg('rect', { width: nodeWidth, height: nodeHeight, rx: 8 }),
      svg('circle', { cx: 16, cy: nodeHeight / 2, r: 6 }),
      svg('text', { x: 30, y: nodeHeight / 2 + 5 }, service.name),
    );
  });
  return svg(
    'svg',
    { class: 'graph', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'call graph' },
    svg(
      'defs',
      {},
      svg(
        'marker',
        { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 8, markerHeight: 8, orient: 'auto' },
        svg('path', { d: 'M0,0 L10,5 L0,10 z' }),
      ),
    ),
    edges,
    nodes,
  );
}
