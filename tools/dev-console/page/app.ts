import type { ApiView, DatabaseView, Overview, ServiceView, TableRows, TraceRecord } from '../src/views.js';
import { dataView } from './data-view.js';
import { explorerView, type Selection } from './explorer-view.js';
import { RecentTraces } from './recent-traces.js';
import { servicesView } from './services-view.js';
import { tracesView } from './traces-view.js';

/** What the page knows: the services (pushed as their health changes), the APIs, and the traces (pushed as they arrive). */
const state: {
  services: ServiceView[];
  apis: ApiView[];
  apisError?: string;
  traces: RecentTraces;
  callers: string[];
} = {
  services: [],
  apis: [],
  traces: new RecentTraces(50),
  callers: [],
};

const view = document.querySelector('#view') as HTMLElement;

/** `#/services`, `#/explorer/<service>/<Api.Method>`, `#/traces/<trace id>`, `#/data/<service>/<table>`. */
function route(): { name: 'services' | 'explorer' | 'traces' | 'data'; parts: string[] } {
  const [name, ...parts] = location.hash.replace(/^#\/?/, '').split('/');
  return { name: name === 'explorer' || name === 'traces' || name === 'data' ? name : 'services', parts };
}

/** The Data view reads the databases each time it is shown: what a request just wrote is there. */
async function showData(parts: string[]): Promise<void> {
  const databases = (await fetch('/api/data').then((response) => response.json())) as DatabaseView[];
  const [service, table] = parts.map(decodeURIComponent);
  let chosen: { service: string; rows?: TableRows; error?: string } | undefined;
  if (service !== undefined && table !== undefined) {
    const response = await fetch(`/api/data/${encodeURIComponent(service)}/${encodeURIComponent(table)}`);
    const body = await response.json();
    chosen = response.ok ? { service, rows: body as TableRows } : { service, error: (body as { error: string }).error };
  }
  if (route().name === 'data') view.replaceChildren(dataView(databases, chosen));
}

/** The explorer's form holds what is typed; it is drawn again only when another method is chosen. */
let drawnExplorer: string | undefined;

function render(): void {
  const { name, parts } = route();
  for (const link of document.querySelectorAll('nav a'))
    link.classList.toggle('active', (link as HTMLElement).dataset.view === name);
  if (name === 'explorer') {
    const key = `${parts.join('/')}|${state.apis.length}|${state.services.length}`;
    if (key === drawnExplorer) return;
    drawnExplorer = key;
    const selection: Selection = {};
    if (parts[0]) selection.service = parts[0];
    if (parts[1]) selection.method = parts[1];
    view.replaceChildren(explorerView(state.apis, state.services, selection, state.callers, state.apisError));
    return;
  }
  drawnExplorer = undefined;
  if (name === 'data') {
    void showData(parts);
  } else if (name === 'traces') {
    view.replaceChildren(tracesView(state.traces.list(), parts[0]));
  } else {
    view.replaceChildren(servicesView(state.services));
  }
}

/** Traces come in bursts under load: one redraw a frame, whatever arrived in it. */
let renderPending = false;
function renderSoon(): void {
  if (renderPending) return;
  renderPending = true;
  requestAnimationFrame(() => {
    renderPending = false;
    render();
  });
}

/** The explorer's health tags follow the services without redrawing its form. */
function updateHealthTags(): void {
  for (const heading of document.querySelectorAll<HTMLElement>('.served-by h3')) {
    const service = state.services.find((candidate) => heading.firstChild?.textContent === candidate.name);
    const tag = heading.querySelector('.health');
    if (service !== undefined && tag !== null) {
      tag.className = `health ${service.health}`;
      tag.textContent = service.health;
    }
  }
}

async function start(): Promise<void> {
  const [overview, apis, traces] = await Promise.all([
    fetch('/api/overview').then((response) => response.json() as Promise<Overview>),
    fetch('/api/apis').then(async (response) => {
      if (response.ok) return (await response.json()) as ApiView[];
      state.apisError = ((await response.json()) as { error: string }).error;
      return [];
    }),
    fetch('/api/traces').then((response) => response.json() as Promise<TraceRecord[]>),
  ]);
  state.services = overview.services;
  state.apis = apis;
  state.traces = new RecentTraces(overview.tracesKept);
  state.callers = overview.callers;
  // The server lists them newest first.
  for (const trace of traces.reverse()) state.traces.add(trace);
  (document.querySelector('#runner') as HTMLElement).textContent = `services run by ${overview.runner}`;
  render();

  const events = new EventSource('/api/events');
  events.addEventListener('services', (event) => {
    state.services = JSON.parse((event as MessageEvent).data) as ServiceView[];
    if (route().name === 'explorer') updateHealthTags();
    else if (route().name !== 'data') render();
  });
  events.addEventListener('trace', (event) => {
    const trace = JSON.parse((event as MessageEvent).data) as TraceRecord;
    state.traces.add(trace);
    if (route().name === 'traces') renderSoon();
  });
  addEventListener('hashchange', render);
}

void start();
