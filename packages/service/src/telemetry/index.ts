/** The SDK a service loaded for its spans. */
export interface Telemetry {
  /** Exports the spans still waiting in the batch. */
  flush(): Promise<void>;
}

/**
 * Whether the environment asks for spans to be exported, by OpenTelemetry's
 * own variables: an OTLP endpoint (for every signal or for traces), unless
 * the SDK or its trace exporter is switched off.
 */
export function telemetryWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  if (env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === 'none') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

let started: Promise<Telemetry> | undefined;

/**
 * Loads OpenTelemetry's SDK and installs its span recorder, once per process
 * however many apps ask (the tracer provider is global). The import is
 * dynamic so that a bundle keeps the SDK in a chunk of its own, read from
 * disk only by a service that exports spans.
 */
export function startTelemetry(service: string, warn: (message: string) => void): Promise<Telemetry> {
  started ??= import('./opentelemetry.js').then(({ startOpenTelemetry }) => startOpenTelemetry(service, warn));
  return started;
}
