import { describe, expect, it } from 'vitest';
import { startTracing, traceExportSettings } from './telemetry.js';

describe('traceExportSettings', () => {
  it('is off by default: no exporter without an OTEL_* variable asking for one', () => {
    expect(traceExportSettings({})).toEqual({ exporters: [], protocol: 'http/protobuf' });
    expect(startTracing('harvester-test', {}).enabled).toBe(false);
  });

  it('turns on with an OTLP endpoint alone, or with the exporters named', () => {
    expect(traceExportSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).exporters).toEqual(['otlp']);
    expect(traceExportSettings({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }).exporters).toEqual(['otlp']);
    expect(traceExportSettings({ OTEL_TRACES_EXPORTER: 'otlp, console' }).exporters).toEqual(['otlp', 'console']);
    expect(traceExportSettings({ OTEL_TRACES_EXPORTER: 'console,console' }).exporters).toEqual(['console']);
  });

  it('stays off when told so, even with an endpoint', () => {
    expect(traceExportSettings({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).exporters).toEqual([]);
    expect(traceExportSettings({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' }).exporters).toEqual([]);
  });

  it('reads the protocol, the traces-specific variable first', () => {
    expect(traceExportSettings({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }).protocol).toBe('http/json');
    expect(traceExportSettings({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf' }).protocol).toBe('http/protobuf');
  });

  it('refuses what it cannot do, naming the variable and what works', () => {
    expect(() => traceExportSettings({ OTEL_TRACES_EXPORTER: 'zipkin' })).toThrow(/OTEL_TRACES_EXPORTER: "zipkin" is not supported; use otlp, console or none/);
    expect(() => traceExportSettings({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(/OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" is not supported; use http\/protobuf/);
  });
});
