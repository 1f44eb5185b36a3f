import {
  type Context,
  context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { setGlobalErrorHandler } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import {
  outsideTrace,
  type RecordingSpan,
  recordSpansWith,
  type SpanAttributes,
  type SpanOutcome,
  type SpanRecorder,
  type TraceContext,
} from '@taco-run/rpc/trace';
import { TraceContextManager } from './context-manager.js';
import type { Telemetry } from './index.js';

/**
 * OpenTelemetry's SDK, exporting spans over OTLP/HTTP where the standard
 * variables say (OTEL_EXPORTER_OTLP_ENDPOINT and friends, the sampler's
 * OTEL_TRACES_SAMPLER, the batch's OTEL_BSP_*), and registered as the global
 * tracer provider, so spans a handler starts through `@opentelemetry/api`
 * land in the same export. This module is what a service loads only when
 * telemetry is on: a chunk of its own in a service's bundle.
 */
export function startOpenTelemetry(service: string, warn: (message: string) => void): Telemetry {
  const provider = new BasicTracerProvider({
    // The variables' own attributes (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) win over what Cloud Run tells.
    resource: resourceFromAttributes(serviceAttributes(service, process.env)).merge(
      detectResources({ detectors: [envDetector] }),
    ),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  // For a handler's own spans; ours go to this provider even where another was registered first.
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(new TraceContextManager());
  // The batch's timer is often started while a request is handled; its failures belong to no request.
  setGlobalErrorHandler(onceAMinute((message) => outsideTrace(() => warn(message))));
  recordSpansWith(new OpenTelemetryRecorder(provider.getTracer('@taco-run/service', '0.1.0')));
  return { flush: () => provider.forceFlush() };
}

/** The resource a service's spans come from: its name and, on Cloud Run, the revision. */
function serviceAttributes(service: string, env: NodeJS.ProcessEnv): SpanAttributes {
  const attributes: SpanAttributes = { 'service.name': service };
  if (env.K_SERVICE !== undefined) {
    attributes['cloud.provider'] = 'gcp';
    attributes['cloud.platform'] = 'gcp_cloud_run';
    attributes['faas.name'] = env.K_SERVICE;
    if (env.K_REVISION !== undefined) {
      attributes['faas.version'] = env.K_REVISION;
      attributes['service.version'] = env.K_REVISION;
    }
  }
  if (env.GOOGLE_CLOUD_PROJECT) attributes['cloud.account.id'] = env.GOOGLE_CLOUD_PROJECT;
  return attributes;
}

/** Spans of requests and calls, as OpenTelemetry spans of kind server and client. */
class OpenTelemetryRecorder implements SpanRecorder {
  readonly #tracer: Tracer;

  constructor(tracer: Tracer) {
    this.#tracer = tracer;
  }

  startServer(name: string, caller: TraceContext | undefined, attributes: () => SpanAttributes): RecordingSpan {
    return this.#start(name, SpanKind.SERVER, caller, attributes);
  }

  startClient(name: string, parent: TraceContext | undefined, attributes: () => SpanAttributes): RecordingSpan {
    return this.#start(name, SpanKind.CLIENT, parent, attributes);
  }

  #start(
    name: string,
    kind: SpanKind,
    parent: TraceContext | undefined,
    attributes: () => SpanAttributes,
  ): RecordingSpan {
    const parentContext = contextOf(parent);
    const span = this.#tracer.startSpan(name, { kind }, parentContext);
    const { traceId, spanId, traceFlags } = span.spanContext();
    let rpc = false;
    if (span.isRecording()) {
      const recorded = attributes();
      span.setAttributes(recorded);
      rpc = recorded['rpc.method'] !== undefined;
    }
    return {
      trace: {
        traceId,
        spanId,
        sampled: (traceFlags & TraceFlags.SAMPLED) !== 0,
        otelContext: trace.setSpan(parentContext, span),
      },
      end: (outcome) => endSpan(span, kind, rpc, outcome),
    };
  }
}

/**
 * The context a new span starts in: the parent's own, when it is a span
 * recorded here (a request's, or one a handler made active), else the
 * caller's span from its headers, remote. A caller without a span id (an
 * `X-Cloud-Trace-Context` that names only a trace) cannot be a parent in
 * OpenTelemetry, so its request starts a trace of its own.
 */
function contextOf(parent: TraceContext | undefined): Context {
  if (parent?.otelContext !== undefined) return parent.otelContext as Context;
  if (parent?.spanId === undefined) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: parent.traceId,
    spanId: parent.spanId,
    traceFlags: parent.sampled === false ? TraceFlags.NONE : TraceFlags.SAMPLED,
    isRemote: true,
  });
}

/**
 * A span's outcome, as the conventions say: the HTTP status when an answer
 * came, the protocol's code (`ok` for success) on an RPC span, and an error
 * status with `error.type` when the span failed. A server's span fails only
 * for what is the server's fault (a 5xx); a 4xx, or a caller that hung up
 * (`canceled`, with no status), is the caller's, and its client span is the
 * one that fails.
 */
function endSpan(span: Span, kind: SpanKind, rpc: boolean, { status, code, retries }: SpanOutcome): void {
  if (!span.isRecording()) {
    span.end();
    return;
  }
  if (status !== undefined) span.setAttribute('http.response.status_code', status);
  if (rpc) span.setAttribute('rpc.status_code', code ?? 'ok');
  if (retries !== undefined && retries > 0) span.setAttribute('http.request.resend_count', retries);
  const failed = kind === SpanKind.SERVER ? status !== undefined && status >= 500 : code !== undefined;
  if (failed) {
    const type = code ?? String(status);
    span.setAttribute('error.type', type);
    span.setStatus({ code: SpanStatusCode.ERROR, message: type });
  }
  span.end();
}

/**
 * The SDK's failures (an export the endpoint refused, or one it never
 * answered) as a warning in the service's log, at most once a minute: an
 * unreachable collector would otherwise write a line every few seconds.
 */
function onceAMinute(warn: (message: string) => void): (error: unknown) => void {
  let last = Number.NEGATIVE_INFINITY;
  return (error) => {
    const now = Date.now();
    if (now - last < 60_000) return;
    last = now;
    warn(`telemetry: spans were not exported: ${error instanceof Error ? error.message : String(error)}`);
  };
}
