// What the console's server sends its page: plain data, shared by both sides (the page type-checks against it).

/** A service as the Services view shows it. */
export interface ServiceView {
  name: string;
  /** Where it answers here: `http://localhost:8080`, or the emulator's URL for it. */
  url: string;
  /** Its `serves` in service.json: the APIs it implements. */
  serves: string[];
  calls: string[];
  /** The services that list it in their calls. */
  calledBy: string[];
  /** Who else may call it on Cloud Run: its service.json `invokers` (user:…, group:…, serviceAccount:…). */
  invokers: string[];
  public: boolean;
  health: 'starting' | 'healthy' | 'unhealthy';
  /** Why it is not healthy: the status, or the connection's error. */
  healthDetail?: string;
}

/** An API of the definitions, as the explorer lists it. */
export interface ApiView {
  name: string;
  comment: string;
  /** The services whose service.json `serves` it. */
  servedBy: string[];
  methods: MethodView[];
}

export interface MethodView {
  name: string;
  /** `TacoService.EatTaco`: the route's last segment. */
  wireName: string;
  comment: string;
  idempotent: boolean;
  /** A request that passes its schema, from the fields' `@example`s; absent when none can be made. */
  example?: Record<string, unknown>;
  request: ObjectView;
  response: ObjectView;
}

export interface ObjectView {
  name: string;
  comment: string;
  fields: { name: string; comment: string; typeName: string; optional: boolean }[];
  /** JSON Schema of the object, with every object and enum it names under `$defs`. */
  schema: Record<string, unknown>;
}

/** One span as the console shows it: OTLP's, flattened, with times in milliseconds since the epoch. */
export interface SpanRecord {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: SpanKindName;
  /** The resource's `service.name`: which service recorded it. */
  service: string;
  start: number;
  end: number;
  status: 'unset' | 'ok' | 'error';
  statusMessage?: string;
  attributes: Record<string, AttributeValue>;
}

export type SpanKindName = 'internal' | 'server' | 'client' | 'producer' | 'consumer' | 'unspecified';
export type AttributeValue = string | number | boolean | AttributeValue[] | null;

/** A service's log line, as the console shows it beside its trace. */
export interface LogRecord {
  service: string;
  /** Milliseconds since the epoch: the line's own `time`, else when the console read it. */
  time: number;
  severity: string;
  message: string;
  traceId?: string;
  spanId?: string;
  /** The line as the service wrote it. */
  line: string;
}

/** One trace as far as it has arrived: its spans from every service, and the lines they logged. */
export interface TraceRecord {
  traceId: string;
  spans: SpanRecord[];
  /** Spans that arrived past the number kept of one trace, and were dropped. */
  droppedSpans?: number;
  logs: LogRecord[];
  /** When anything of it last arrived: the newest trace is the one shown first. */
  updated: number;
}

/** What the explorer shows of a call: the answer as the service gave it, and how long it took. */
export interface CallResult {
  status: number;
  /** Milliseconds from sending to the whole answer. */
  duration: number;
  /** The answer's JSON, or its text when it is not JSON. */
  body: unknown;
  /** No answer at all: the service is not listening, say. */
  error?: string;
}

/** `GET /api/overview`: what runs the services, and the services. */
export interface Overview {
  runner: string;
  services: ServiceView[];
  /** How many traces the console keeps: the page keeps as many. */
  tracesKept: number;
  /** Whom else the explorer may call as (under `pnpm dev:cloud`, every service); none under `pnpm dev`. */
  callers: string[];
}

/** A service's database, as the Data view shows it. */
export interface DatabaseView {
  service: string;
  /** Its tables, but the migrator's own, with how many rows each holds. */
  tables: { name: string; rows: number }[];
  /** The migrations applied to it, in order, with when. */
  migrations: { file: string; appliedAt: string }[];
  /** Why it could not be read: the database is not there, say. */
  error?: string;
}

/** A table's last rows, newest first, each value as text (null for SQL's NULL). */
export interface TableRows {
  table: string;
  columns: string[];
  rows: (string | null)[][];
}
