import { writeSync } from 'node:fs';
import { currentTrace, type TraceContext, traceLogFields, traceLogText } from '@taco-run/rpc/trace';
import { type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import { type Logger, type LoggerOptions, symbols } from 'pino';

/** pino's levels as Cloud Logging's severities. */
const severities: Record<string, string> = {
  trace: 'DEBUG',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
  fatal: 'CRITICAL',
};

/**
 * pino configured to write Cloud Logging's structured JSON: `severity` and
 * `message` instead of pino's numeric level and `msg`, an RFC 3339 `time`,
 * given the service's name, `serviceContext` on every line, which Error
 * Reporting groups errors by (pino serializes it once, not per line), and on
 * every line written while a request is handled, its trace (`project` names
 * it for Cloud Logging). The trace is read when a line is written rather than
 * bound to each request's logger: most requests write no line, and binding it
 * cost every request the serialization of three more fields.
 * Only options: the logger itself is pino's, unwrapped, so the hot path stays pino's.
 */
export function cloudLoggingOptions(level: string, service?: string, project?: string): LoggerOptions {
  return {
    level,
    messageKey: 'message',
    timestamp: isoTimeField,
    base: service === undefined ? undefined : { serviceContext: { service } },
    mixin: () => {
      const trace = currentTrace();
      return trace === undefined ? {} : traceLogFields(trace, project);
    },
    formatters: {
      level: (label) => ({ severity: severities[label] ?? 'DEFAULT' }),
    },
    // Defence in depth: no code here logs these headers, and a mistake must not leak a token.
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers["x-serverless-authorization"]',
        'headers.authorization',
        'headers["x-serverless-authorization"]',
      ],
      censor: '[redacted]',
    },
  };
}

let timeMs = 0;
let timeField = '';

/** `,"time":"<RFC 3339>"`, made once per millisecond: every line of a busy millisecond has the same one. */
function isoTimeField(): string {
  const now = Date.now();
  if (now !== timeMs) {
    timeMs = now;
    timeField = `,"time":"${new Date(now).toISOString()}"`;
  }
  return timeField;
}

/**
 * Fastify's request logging, replaced by one line per answered request in
 * Cloud Logging's `httpRequest` shape (which its console renders as a request
 * row), or, with `accessLines` off, by nothing but the requests that failed
 * on the way out. Health probes are logged only at debug: they would drown the rest.
 *
 * The line of a request that succeeded is the one pino would write, built
 * here as text: pino turns its fields into JSON generically, which in a
 * loaded service cost about twice what the rest of the line does. It takes
 * its parts from the request's pino logger, so a binding added to that
 * logger is on it too. A failed request's line goes through pino, whose
 * serializers turn its error into a stack trace.
 */
export class CloudRunLogController extends LogController {
  readonly #accessLines: boolean;
  readonly #traceText: (trace: TraceContext) => string;

  constructor({ accessLines = true, project }: { accessLines?: boolean; project?: string | undefined } = {}) {
    super();
    this.#accessLines = accessLines;
    this.#traceText = traceLogText(project);
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (!error && !this.#accessLines) return;
    // The path itself, not request.routeOptions.url: that getter builds an object of the route's options on every
    // read, and reading it here cost tacoserver about a tenth of its throughput.
    const level = error ? 'error' : isHealthProbe(request.url) ? 'debug' : 'info';
    // Fastify's logger is pino; the check keeps a dropped line from being built at all.
    const log = request.log as Logger & PinoParts;
    if (!log.isLevelEnabled(level)) return;
    const url = jsonStringContent(request.url);
    if (error) {
      // The same fields, as the object pino serializes beside the error: rare enough to parse.
      log.error(
        { httpRequest: JSON.parse(httpRequestText(request, reply, url)), err: error },
        `${request.method} ${request.url} ${reply.statusCode}`,
      );
      return;
    }
    const trace = currentTrace();
    log[symbols.streamSym].write(
      `{"severity":"${severities[level]}"${isoTimeField()}${log[symbols.chindingsSym]}${trace === undefined ? '' : this.#traceText(trace)},"httpRequest":${httpRequestText(request, reply, url)},"message":"${request.method} ${url} ${reply.statusCode}"}\n`,
    );
  }
}

/** What pino exports its symbols for: a logger's destination, and its bindings as JSON (`,"reqId":"req-1"`). */
interface PinoParts {
  [symbols.streamSym]: { write(line: string): void };
  [symbols.chindingsSym]: string;
}

/**
 * The request as Cloud Logging's `HttpRequest`, in the JSON pino would make
 * of it, field for field: a field with no value is left out, as
 * JSON.stringify leaves out `undefined`. `url` is the URL as JSON string
 * content. The method and protocol are tokens Node's parser has checked, and
 * the address one it formatted, so only the user agent needs escaping.
 */
function httpRequestText(request: FastifyRequest, reply: FastifyReply, url: string): string {
  const userAgent = request.headers['user-agent'];
  const remoteIp = request.ip;
  return (
    `{"requestMethod":"${request.method}","requestUrl":"${url}","status":${reply.statusCode}` +
    (userAgent === undefined ? '' : `,"userAgent":"${jsonStringContent(userAgent)}"`) +
    (remoteIp === undefined ? '' : `,"remoteIp":"${remoteIp}"`) +
    // In whole microseconds: a count of them over a million prints as the seconds' decimals, less trailing zeros,
    // and toFixed(6), a call into C++, cost 1.3k instructions a line (counted under callgrind).
    `,"protocol":"HTTP/${request.raw.httpVersion}","latency":"${Math.round(reply.elapsedTime * 1000) / 1e6}s"}`
  );
}

/** What JSON.stringify escapes in a string: quotes, backslashes, control characters and (lone) surrogates. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
const escaped = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * A string as it stands between the quotes of a JSON string, as JSON.stringify
 * writes it. Most URLs and user agents need no escaping, and a test for that
 * costs a fraction of a JSON.stringify call, which V8 makes in C++.
 */
function jsonStringContent(text: string): string {
  return escaped.test(text) ? JSON.stringify(text).slice(1, -1) : text;
}

function isHealthProbe(url: string): boolean {
  return url === '/healthz' || url.startsWith('/healthz?');
}

/**
 * The original tacoserver's middleware: who is calling, as each request of
 * `scope` arrives. At debug only, and at any other level not even a hook, so
 * that a line nobody reads costs no step per request: at the default level
 * the access line carries the caller's user agent. The tests that hold
 * requests in flight run at debug to see them arrive.
 */
export function logArrivals(scope: FastifyInstance): void {
  if (!(scope.log as Logger).isLevelEnabled('debug')) return;
  scope.addHook('onRequest', (request, _reply, done) => {
    request.log.debug(`request from ${request.headers['user-agent'] ?? 'unknown'}`);
    done();
  });
}

/** How long one log line may wait for a full pipe before it is dropped. */
const fullPipePatience = 1_000;
const pause = new Int32Array(new SharedArrayBuffer(4));

/** Lines held for one write: past this many characters they go at once rather than at the end of the turn. */
const batchLimit = 64 * 1024;

/**
 * Where a service's log lines go: stdout, in one write per turn of the event
 * loop. A write to a pipe is a system call, and wakes whatever reads it; one
 * per line was most of what a logged request cost (tacoserver under load:
 * 36% of its CPU in writeSync, against 2.5% building the lines). The lines of
 * a turn are joined and written together once its callbacks have run, so a
 * line waits for no I/O and no timer, and whatever is pending is written
 * synchronously when the process exits, a crash included.
 *
 * A write waits out a full pipe (a slow reader) for a second at most, and a
 * line nobody can read any more (the reader is gone) is dropped. pino's
 * destination would retry that last case for ever in its exit handler, so a
 * service whose stdout went away could not exit: Cloud Run never does that,
 * a terminal or a supervisor does.
 */
export const stdoutLines = {
  write(line: string): void {
    if (pending === '') {
      flushScheduled ??= setImmediate(flush);
      pending = line;
    } else pending += line;
    if (pending.length > batchLimit) flush();
  },
};

let pending = '';
let flushScheduled: NodeJS.Immediate | undefined;
process.on('exit', () => flush());

function flush(): void {
  if (flushScheduled !== undefined) {
    clearImmediate(flushScheduled);
    flushScheduled = undefined;
  }
  const text = pending;
  pending = '';
  if (text === '') return;
  // The common case, a pipe with room: one write of the string, no copy.
  let written = 0;
  try {
    written = writeSync(1, text);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') return;
  }
  if (written < Buffer.byteLength(text)) writeRest(Buffer.from(text).subarray(written));
}

/** The part of a line a full pipe did not take: written as room comes, or dropped when patience runs out. */
function writeRest(rest: Buffer): void {
  const giveUp = Date.now() + fullPipePatience;
  while (rest.length > 0) {
    try {
      rest = rest.subarray(writeSync(1, rest));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN' || Date.now() > giveUp) return;
      Atomics.wait(pause, 0, 0, 10);
    }
  }
}
