import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Project } from '@taco-run/project/services';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { request } from 'undici';
import { readApis } from './apis.js';
import { describeDatabase, lastRows } from './data.js';
import { HealthPoller } from './health.js';
import { otlpReceiver } from './otlp.js';
import { readLogLine, TraceStore } from './traces.js';
import type { CallResult, DatabaseView, Overview, ServiceView } from './views.js';

export interface DevConsoleOptions {
  project: Project;
  /** otogen's model of the definitions, relative to the project's root. */
  modelFile: string;
  /**
   * Where each service answers here: the local URL runsd maps its short name to, or the emulator's.
   * Default: localhost at its service.json port. A runner that learns them later calls setUrls.
   */
  urls?: ReadonlyMap<string, string>;
  /**
   * Headers for a call to a service: under the emulator, the identity token it needs, the
   * developer's, or the caller's when the explorer calls `as` one of `callers`.
   */
  headers?: (service: string, as?: string) => Promise<Record<string, string>>;
  /** Whom else the explorer may call as: under the emulator, every service, to see an edge refused. */
  callers?: readonly string[];
  /** 9400 by default; 0 for any free port. */
  port?: number;
  /** The folder of the page's files (index.html, app.js, app.css), as tools/dev-console/tsup.config.ts builds them. */
  pageDir: string;
  /** Each service's database, by service: the URL the runner gave it, which the Data view reads. */
  databases?: ReadonlyMap<string, string>;
  /** What runs the services, for the page's header: `pnpm dev`, `pnpm dev:cloud`. */
  runner: string;
  healthInterval?: number;
  /** How many traces are kept: the last N across all services. */
  traces?: number;
}

export interface DevConsole {
  /** `http://localhost:9400`. */
  url: string;
  /** What a service's OTEL_EXPORTER_OTLP_ENDPOINT is set to, for its spans to come here. */
  otlpEndpoint: string;
  /** A line a service printed: kept with its trace when it names one. */
  addLogLine(service: string, line: string): void;
  /** Where services answer, once the runner knows: the emulator's front door is only there once it has started. */
  setUrls(urls: ReadonlyMap<string, string>): void;
  close(): Promise<void>;
}

export const defaultConsolePort = 9400;

const loopbackHost = /^(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/i;

/** The longest an explorer call waits for its answer. */
const callTimeout = 30_000;

/**
 * The dev console: a small web app on loopback that shows the project's
 * services and their health, lets a person call any method of the
 * definitions, and shows the last traces across all services as they
 * arrive, spans over OTLP/HTTP and log lines from the runner.
 */
export async function startDevConsole(options: DevConsoleOptions): Promise<DevConsole> {
  const { project, urls = new Map<string, string>(), headers = async () => ({}) } = options;
  const callers = options.callers ?? [];
  const store = new TraceStore(options.traces);
  const streams = new Set<ServerResponse>();
  const eventText = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
  const send = (event: string, data: unknown) => {
    const text = eventText(event, data);
    for (const stream of streams) stream.write(text);
  };

  const views: ServiceView[] = project.services.map((service) => ({
    name: service.name,
    url: urls.get(service.name) ?? `http://localhost:${service.port}`,
    serves: [...service.serves],
    calls: [...service.calls],
    calledBy: project.callers(service.name).map((caller) => caller.name),
    invokers: [...service.invokers],
    public: service.public,
    health: 'starting',
  }));
  let poller: HealthPoller | undefined;
  store.subscribe((trace) => send('trace', trace));

  const app = Fastify({ logger: false });
  // Only by its loopback names: a page whose own host name resolves to 127.0.0.1 (DNS rebinding) would
  // otherwise reach the explorer, which under the emulator calls services with the developer's token.
  app.addHook('onRequest', async (request, reply) => {
    // Never inside another site's frame: one click there would send a call, with that token.
    reply.header('x-frame-options', 'DENY').header('content-security-policy', "frame-ancestors 'none'");
    if (!loopbackHost.test(request.headers.host ?? '')) {
      return reply.code(403).send({ error: 'the dev console answers only as localhost, 127.0.0.1 or [::1]' });
    }
  });
  await otlpReceiver(app, (spans) => store.addSpans(spans));

  const page = (file: string, type: string) => async (_request: FastifyRequest, reply: FastifyReply) =>
    reply
      .type(type)
      .header('cache-control', 'no-cache')
      .send(await readFile(join(options.pageDir, file)));
  app.get('/', page('index.html', 'text/html; charset=utf-8'));
  app.get('/app.js', page('app.js', 'text/javascript; charset=utf-8'));
  app.get('/app.css', page('app.css', 'text/css; charset=utf-8'));

  app.get(
    '/api/overview',
    async (): Promise<Overview> => ({
      runner: options.runner,
      services: views,
      tracesKept: store.capacity,
      callers: [...callers],
    }),
  );
  app.get('/api/apis', async (_request, reply) => {
    try {
      return readApis(project.root, options.modelFile, project.services);
    } catch (error) {
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      return reply.code(missing ? 404 : 500).send({
        error: missing
          ? `there is no ${options.modelFile} yet; run \`pnpm generate\``
          : `${options.modelFile} cannot be read: ${(error as Error).message}`,
      });
    }
  });
  app.get('/api/traces', async () => store.list());

  // The Data view: read-only, over a connection of its own to each service's database.
  const databases = options.databases ?? new Map<string, string>();
  app.get(
    '/api/data',
    async (): Promise<DatabaseView[]> =>
      Promise.all([...databases].map(([service, url]) => describeDatabase(service, url))),
  );
  app.get<{ Params: { service: string; table: string } }>('/api/data/:service/:table', async (request, reply) => {
    const { service, table } = request.params;
    const url = databases.get(service);
    if (url === undefined) return reply.code(404).send({ error: `${service} has no database here` });
    try {
      const rows = await lastRows(url, table);
      return rows ?? reply.code(404).send({ error: `${service}'s database has no table ${table}` });
    } catch (error) {
      return reply.code(502).send({ error: `${service}'s database: ${(error as Error).message}` });
    }
  });

  // Server-sent events: each change of a service's health, and each trace as spans and lines arrive.
  app.get('/api/events', (request, reply) => {
    reply.hijack();
    const stream = reply.raw;
    stream.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    // The services as they are now, first: a change between the page's read of the overview and
    // this connection would otherwise never reach it, and a service would show `starting` for good.
    stream.write(`: connected\n\n${eventText('services', views)}`);
    streams.add(stream);
    const keepAlive = setInterval(() => stream.write(': keep-alive\n\n'), 15_000);
    request.raw.on('close', () => {
      clearInterval(keepAlive);
      streams.delete(stream);
    });
  });

  app.post<{ Body: { service?: unknown; method?: unknown; body?: unknown; as?: unknown } }>(
    '/api/call',
    async (request, reply) => {
      const { service, method, body, as } = request.body ?? {};
      const target = views.find((view) => view.name === service);
      const api = typeof method === 'string' ? method.split('.', 1)[0] : undefined;
      if (target === undefined || typeof method !== 'string' || typeof body !== 'string') {
        return reply
          .code(400)
          .send({ error: 'send {"service": <a service>, "method": "Api.Method", "body": "<JSON text>"}' });
      }
      if (api === undefined || !target.serves.includes(api)) {
        return reply.code(400).send({
          error: `${target.name} does not serve ${api}; its service.json serves ${target.serves.join(', ') || 'no API'}`,
        });
      }
      // Only a method of the definitions: the name becomes the path, which must not reach anything else.
      const methods = readApis(project.root, options.modelFile, project.services).flatMap((view) =>
        view.name === api ? view.methods.map((known) => known.wireName) : [],
      );
      if (!methods.includes(method)) {
        return reply.code(400).send({ error: `${api} has no method ${JSON.stringify(method.slice(api.length + 1))}` });
      }
      if (as !== undefined && (typeof as !== 'string' || !callers.includes(as))) {
        return reply.code(400).send({
          error: `"as" may be ${callers.length === 0 ? 'given only under pnpm dev:cloud' : `one of ${callers.join(', ')}`}`,
        });
      }
      return callMethod(target, method, body, () => headers(target.name, as));
    },
  );

  app.addHook('preClose', async () => {
    poller?.stop();
    for (const stream of streams) stream.end();
    streams.clear();
  });

  const address = await app.listen({ host: '127.0.0.1', port: options.port ?? defaultConsolePort });
  // Only once listening: a console that could not start polls nothing.
  poller = new HealthPoller(views, {
    ...(options.healthInterval === undefined ? {} : { interval: options.healthInterval }),
    headers: (service) => headers(service.name),
    onChange: (services) => send('services', services),
  });
  const port = new URL(address).port;
  return {
    url: `http://localhost:${port}`,
    otlpEndpoint: `http://127.0.0.1:${port}`,
    addLogLine: (service, line) => store.addLog(readLogLine(service, line)),
    setUrls: (known) => {
      // The health poller reads each view's URL as it asks, so the next poll goes to the new one.
      for (const view of views) view.url = known.get(view.name) ?? view.url;
      send('services', views);
    },
    close: () => app.close(),
  };
}

/**
 * Sends the body exactly as typed, JSON or not: the explorer's hints never
 * stop a request, so a wrong one reaches the service and its answer is seen.
 */
async function callMethod(
  service: ServiceView,
  method: string,
  body: string,
  headers: () => Promise<Record<string, string>>,
): Promise<CallResult> {
  let extra: Record<string, string>;
  try {
    extra = await headers();
  } catch (error) {
    return { status: 0, duration: 0, body: null, error: `no token for ${service.name}: ${(error as Error).message}` };
  }
  const started = performance.now();
  try {
    const response = await request(`${service.url}/oto/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'taco-run-dev-console', ...extra },
      body,
      headersTimeout: callTimeout,
      bodyTimeout: callTimeout,
    });
    const text = await response.body.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not JSON (a proxy's page, say): shown as text.
    }
    return { status: response.statusCode, duration: performance.now() - started, body: parsed };
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    return {
      status: 0,
      duration: performance.now() - started,
      body: null,
      error: `${service.url} did not answer: ${reason}`,
    };
  }
}
