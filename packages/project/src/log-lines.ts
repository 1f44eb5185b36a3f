/**
 * How the local runners (`pnpm dev`, `pnpm start`, `pnpm dev:cloud`) show
 * what their services print: one prefixed line per line, and a service's
 * Cloud Logging JSON rendered for a person. `json` keeps each line as the
 * service wrote it, as Cloud Logging would receive it.
 */
export interface LinePrinterOptions {
  /** Every service whose lines are shown, so that the prefixes line up and each keeps its colour. */
  names: readonly string[];
  /** The lines exactly as written, behind the prefix. */
  json?: boolean;
  /** ANSI colours; off when the output is not a terminal, or NO_COLOR is set. */
  color?: boolean;
}

/** Renders one line a service printed, as one or more terminal lines (an error's stack follows its line). */
export type LinePrinter = (service: string, line: string) => string;

const serviceColors = [35, 36, 33, 32, 34, 31];

/** Cloud Logging's severities, each as five letters and a colour. */
const severities: Record<string, [string, number]> = {
  DEFAULT: ['     ', 0],
  DEBUG: ['DEBUG', 90],
  INFO: ['INFO ', 32],
  NOTICE: ['NOTE ', 36],
  WARNING: ['WARN ', 33],
  ERROR: ['ERROR', 31],
  CRITICAL: ['CRIT ', 31],
  ALERT: ['ALERT', 31],
  EMERGENCY: ['EMERG', 31],
};

/** Fields a person reading dev output does not need: the label or the access line says them, or `--json` shows them. */
const hiddenFields = new Set(['severity', 'time', 'message', 'httpRequest', 'err', 'reqId', 'serviceContext']);

export function linePrinter({ names, json = false, color = false }: LinePrinterOptions): LinePrinter {
  const width = Math.max(0, ...names.map((name) => name.length));
  const paint = (code: number, text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const labels = new Map(
    names.map((name, index) => [
      name,
      paint(serviceColors[index % serviceColors.length] ?? 0, `${name.padEnd(width)} |`),
    ]),
  );
  const label = (service: string) => labels.get(service) ?? `${service.padEnd(width)} |`;

  return (service, line) => {
    const record = json ? undefined : cloudLoggingRecord(line);
    if (record === undefined) return `${label(service)} ${line}`;
    const [name, levelColor] = severities[String(record.severity)] ?? severities.DEFAULT ?? ['', 0];
    const time = typeof record.time === 'string' ? record.time.slice(11, 19).padEnd(8) : ' '.repeat(8);
    const level = paint(levelColor, name);
    const access = accessLine(record.httpRequest, paint);
    const message = access ?? String(record.message ?? '');
    const head = `${label(service)} ${time} ${level} ${[message, ...fields(record)].join(' ')}`;
    const stack = errorStack(record.err);
    return stack === undefined ? head : [head, ...stack.map((frame) => `${label(service)}   ${frame}`)].join('\n');
  };
}

function cloudLoggingRecord(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** `POST /oto/TacoService.EatTaco 200 4.7 ms from <user agent>` from Cloud Logging's httpRequest, the status coloured by class. */
function accessLine(httpRequest: unknown, paint: (code: number, text: string) => string): string | undefined {
  if (typeof httpRequest !== 'object' || httpRequest === null) return undefined;
  const { requestMethod, requestUrl, status, latency, userAgent } = httpRequest as Record<string, unknown>;
  if (typeof requestMethod !== 'string' || typeof requestUrl !== 'string') return undefined;
  const code = Number(status);
  const statusText = paint(code >= 500 ? 31 : code >= 400 ? 33 : 32, String(status));
  // Cloud Logging's latency is a duration string in seconds, "0.004736s".
  const seconds = typeof latency === 'string' ? Number.parseFloat(latency) : Number.NaN;
  const took = Number.isFinite(seconds) ? ` ${formatMilliseconds(seconds * 1000)}` : '';
  // Who called: under runsd it starts `runsd version=…`, which is how a developer sees the call came through it.
  const caller = typeof userAgent === 'string' && userAgent !== '' ? ` from ${userAgent}` : '';
  return `${requestMethod} ${requestUrl} ${statusText}${took}${caller}`;
}

function formatMilliseconds(ms: number): string {
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

/** The rest of a line's fields as `key=value`, leaving out what is shown already and Cloud Logging's own keys. */
function fields(record: Record<string, unknown>): string[] {
  return Object.entries(record)
    .filter(([key]) => !hiddenFields.has(key) && !key.startsWith('logging.googleapis.com/'))
    .map(
      ([key, value]) =>
        `${key}=${typeof value === 'string' && /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value)}`,
    );
}

/** A logged error's stack (its first line names the error), else its message. */
function errorStack(err: unknown): string[] | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { stack, message } = err as Record<string, unknown>;
  if (typeof stack === 'string') return stack.split('\n');
  return typeof message === 'string' ? [message] : undefined;
}
