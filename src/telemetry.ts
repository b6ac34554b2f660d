import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { detectResourcesSync, envDetectorSync, Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, ConsoleSpanExporter, NoopSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ConfigError } from './config.js';

/**
 * OpenTelemetry tracing, configured by the standard OTEL_* variables and off unless they ask for
 * an exporter. When on, a request to the api, the workflow run it starts and that run's
 * activities are spans of one trace, which continues the caller's `traceparent`: the Temporal
 * interceptors carry the context in workflow and activity headers (src/temporal/connection.ts,
 * src/worker/create.ts).
 */
export interface Tracing {
  enabled: boolean;
  /** What the workflow span sink hands finished workflow spans to (they are made in the sandbox). */
  spanProcessor: SpanProcessor;
  resource: Resource;
  /** For the start-up log line: exporters and protocol, never endpoints' headers (they carry keys). */
  description: string;
  /** Exports what is still buffered; call on shutdown. */
  shutdown(): Promise<void>;
}

export type TraceExporterKind = 'otlp' | 'console';
export type OtlpProtocol = 'http/protobuf' | 'http/json';

export interface TraceExportSettings {
  exporters: TraceExporterKind[];
  protocol: OtlpProtocol;
}

/**
 * What the OTEL_* variables ask for. Tracing is on when OTEL_TRACES_EXPORTER names an exporter,
 * or when an OTLP endpoint is given without it; OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none
 * turn it off. (The specification's default exporter is OTLP to localhost: Harvester does not
 * send anywhere unless told.)
 */
export function traceExportSettings(env: NodeJS.ProcessEnv): TraceExportSettings {
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/protobuf').trim();
  if (protocol !== 'http/protobuf' && protocol !== 'http/json') {
    throw new ConfigError([`OTEL_EXPORTER_OTLP_PROTOCOL: "${protocol}" is not supported; use http/protobuf (port 4318) or http/json`]);
  }
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return { exporters: [], protocol };
  const named = env.OTEL_TRACES_EXPORTER?.trim();
  if (!named) {
    const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
    return { exporters: endpoint ? ['otlp'] : [], protocol };
  }
  const exporters = new Set<TraceExporterKind>();
  for (const name of named.split(',').map((n) => n.trim().toLowerCase())) {
    if (name === 'none') return { exporters: [], protocol };
    if (name !== 'otlp' && name !== 'console') {
      throw new ConfigError([`OTEL_TRACES_EXPORTER: "${name}" is not supported; use otlp, console or none`]);
    }
    exporters.add(name);
  }
  return { exporters: [...exporters], protocol };
}

/**
 * Registers the process's tracer provider (and with it the W3C trace-context propagator and the
 * async context manager) when `env` asks for tracing; otherwise returns a disabled Tracing whose
 * spans go nowhere. `service` is the default service.name; OTEL_SERVICE_NAME and
 * OTEL_RESOURCE_ATTRIBUTES win over it. The SDK's parts (exporters, batching, sampler, resource)
 * read their own variables from the process's environment.
 */
export function startTracing(service: string, env: NodeJS.ProcessEnv = process.env): Tracing {
  const settings = traceExportSettings(env);
  const resource = Resource.default()
    .merge(new Resource({ 'service.name': service }))
    .merge(detectResourcesSync({ detectors: [envDetectorSync] }));
  if (settings.exporters.length === 0) return disabledTracing(resource);

  // The exporters read their endpoint, headers, timeout and compression from OTEL_EXPORTER_OTLP_*;
  // the batch processors read OTEL_BSP_*, the provider's sampler OTEL_TRACES_SAMPLER.
  const exporters: SpanExporter[] = settings.exporters.map((kind) =>
    kind === 'console' ? new ConsoleSpanExporter() : settings.protocol === 'http/json' ? new OtlpJsonExporter() : new OtlpProtobufExporter(),
  );
  const provider = new NodeTracerProvider({ resource, spanProcessors: exporters.map((e) => new BatchSpanProcessor(e)) });
  provider.register();
  return {
    enabled: true,
    spanProcessor: provider.getActiveSpanProcessor(),
    resource,
    description: settings.exporters.map((kind) => (kind === 'otlp' ? `otlp (${settings.protocol})` : kind)).join(', '),
    shutdown: () => provider.shutdown(),
  };
}

/** Tracing off: the interceptors still run, and their spans are dropped. */
export function disabledTracing(resource: Resource = Resource.empty()): Tracing {
  return { enabled: false, spanProcessor: new NoopSpanProcessor(), resource, description: 'off', shutdown: async () => {} };
}
