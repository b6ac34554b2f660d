/**
 * src/temporal: the Temporal client side: connections, typed run starts, status, listing, history,
 * run control (cancel, retry) and the live watch behind the stream endpoint; used by the api
 * process (the worker only connects through it).
 */
import { readFileSync } from 'node:fs';
import { Client, Connection, type TLSConfig } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import { NativeConnection } from '@temporalio/worker';
import { type Config, ConfigError } from '../config.js';

type TemporalConfig = Pick<
  Config,
  | 'TEMPORAL_ADDRESS'
  | 'TEMPORAL_NAMESPACE'
  | 'TEMPORAL_API_KEY'
  | 'TEMPORAL_TLS'
  | 'TEMPORAL_TLS_CLIENT_CERT_PATH'
  | 'TEMPORAL_TLS_CLIENT_KEY_PATH'
  | 'TEMPORAL_TLS_SERVER_CA_CERT_PATH'
  | 'TEMPORAL_TLS_SERVER_NAME'
>;

/**
 * How to reach Temporal: plain gRPC (the dev server), TLS with an API key (Temporal Cloud), or
 * TLS with a client certificate and a private CA (a self-hosted cluster with mutual TLS). The
 * certificate files are read once, here, so a missing file fails at start with its name.
 */
export function connectionOptions(config: TemporalConfig): { address: string; tls: TLSConfig | undefined; apiKey: string | undefined } {
  const { TEMPORAL_TLS_CLIENT_CERT_PATH: certPath, TEMPORAL_TLS_CLIENT_KEY_PATH: keyPath } = config;
  if ((certPath === undefined) !== (keyPath === undefined)) {
    throw new ConfigError(['TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH: set both (mutual TLS) or neither']);
  }
  const caPath = config.TEMPORAL_TLS_SERVER_CA_CERT_PATH;
  const serverName = config.TEMPORAL_TLS_SERVER_NAME;
  // An API key only travels over TLS; so does a client certificate.
  const tls = config.TEMPORAL_TLS || config.TEMPORAL_API_KEY !== undefined || [certPath, caPath, serverName].some((v) => v !== undefined);
  return {
    address: config.TEMPORAL_ADDRESS,
    tls: tls
      ? {
          ...(certPath && keyPath ? { clientCertPair: { crt: readPem(certPath, 'TEMPORAL_TLS_CLIENT_CERT_PATH'), key: readPem(keyPath, 'TEMPORAL_TLS_CLIENT_KEY_PATH') } } : {}),
          ...(caPath ? { serverRootCACertificate: readPem(caPath, 'TEMPORAL_TLS_SERVER_CA_CERT_PATH') } : {}),
          ...(serverName ? { serverNameOverride: serverName } : {}),
        }
      : undefined,
    apiKey: config.TEMPORAL_API_KEY,
  };
}

function readPem(path: string, setting: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError([`${setting}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
  }
}

/**
 * The client the api uses to start, describe, query and cancel workflows. Its OpenTelemetry
 * interceptor puts the current trace context into each start, so the run continues the trace of
 * the request that started it (with tracing off there is no context to carry).
 */
export async function connectClient(config: TemporalConfig, options: ConnectOptions = {}): Promise<Client> {
  const connection = Connection.lazy({ ...connectionOptions(config), connectTimeout: options.timeoutMs });
  try {
    await connection.ensureConnected();
  } catch (err) {
    // Its gRPC channel would go on reconnecting: start-up retries with a fresh connection.
    await connection.close();
    throw err;
  }
  return new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, interceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } });
}

export interface ConnectOptions {
  /** How long connecting may take before it fails (the SDK's default: 10 s). */
  timeoutMs?: number;
}

/** The worker's connection (the Rust core's own gRPC client, which fails at once when refused). */
export function connectWorker(config: TemporalConfig): Promise<NativeConnection> {
  return NativeConnection.connect(connectionOptions(config));
}
