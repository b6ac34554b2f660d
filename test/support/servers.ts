import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { setUpBuckets, startMinio } from '../../scripts/lib/minio.js';
import { freePort } from '../../scripts/lib/net.js';
import { type RunningServer, startTemporal } from '../../scripts/lib/temporal.js';
import { waitFor } from '../../scripts/lib/wait.js';
import './context.js';

/**
 * Servers of one fault test's own, which it may stop and start again: the shared servers of the
 * global setup must stay up for the other test files. Each keeps its data folder and port across
 * restarts, as a real server restarted in place does.
 */
export interface RestartableServer {
  /** Temporal: host:port; MinIO: http://127.0.0.1:port. */
  address: string;
  dataDir: string;
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data; resolves when it serves again. */
  start(): Promise<void>;
  /** Stops it (if running) and removes its data. */
  remove(): Promise<void>;
}

const quiet = (): void => {};

async function restartable(prefix: string, launch: (dataDir: string, port: number) => Promise<{ address: string; stop(): Promise<void> }>): Promise<RestartableServer> {
  const dataDir = await mkdtemp(join(tmpdir(), prefix));
  const port = await freePort();
  let running: { address: string; stop(): Promise<void> } | undefined = await launch(dataDir, port);
  const address = running.address;
  const stop = async (): Promise<void> => {
    const server = running;
    running = undefined;
    await server?.stop();
  };
  return {
    address,
    dataDir,
    stop,
    async start() {
      if (running) throw new Error(`${prefix} server is already running`);
      running = await launch(dataDir, port);
    },
    async remove() {
      await stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A Temporal dev server with its own SQLite file; runs survive stop() and start(). Headless unless
 * given a `uiPort`: then its Web UI serves on that port too, and (re)starts resolve once it answers.
 */
export function startOwnTemporal(options: { uiPort?: number } = {}): Promise<RestartableServer & { namespace: string }> {
  const namespace = inject('temporalNamespace');
  const { uiPort } = options;
  return restartable('harvester-fault-temporal-', async (dataDir, port) => {
    const server = await startTemporal({ binary: inject('temporalBinary'), dataDir, port, uiPort, namespace, log: quiet, env: process.env });
    if (uiPort !== undefined) await untilUiServes(server, `http://127.0.0.1:${uiPort}`);
    return server;
  }).then((server) => ({ ...server, namespace }));
}

/** startTemporal waits for gRPC only; the UI server is another listener, ready when its settings call answers. */
async function untilUiServes(server: RunningServer, uiUrl: string): Promise<void> {
  try {
    await waitFor(async () => (await fetch(`${uiUrl}/api/v1/settings`, { signal: AbortSignal.timeout(2_000) })).ok, {
      timeoutMs: 30_000,
      intervalMs: 100,
      description: `the Temporal Web UI on ${uiUrl}`,
    });
  } catch (err) {
    await server.stop();
    throw err;
  }
}

export interface OwnMinio extends RestartableServer {
  /** The folder of MinIO's on-disk queue of undelivered webhook events. */
  queueDir: string;
  /** How many events wait in the queue, undelivered. */
  queuedEvents(): Promise<number>;
}

/**
 * MinIO with its own drive, the shared test credentials, and the ingest bucket notifying
 * `webhookEndpoint` (with the on-disk queue for when nobody answers there).
 */
export async function startOwnMinio(options: { ingestBucket: string; workBucket: string; webhookEndpoint: string; webhookToken: string }): Promise<OwnMinio> {
  const credentials = { region: 'us-east-1', accessKeyId: inject('s3AccessKeyId'), secretAccessKey: inject('s3SecretAccessKey') };
  const consolePort = await freePort();
  const server = await restartable('harvester-fault-minio-', (dataDir, port) =>
    startMinio({
      binary: inject('minioBinary'),
      dataDir,
      port,
      consolePort,
      webhook: { endpoint: options.webhookEndpoint, token: options.webhookToken },
      log: quiet,
      env: process.env,
      ...credentials,
    }),
  );
  await setUpBuckets({ endpoint: server.address, ingestBucket: options.ingestBucket, workBucket: options.workBucket, log: quiet, ...credentials });
  const queueDir = join(server.dataDir, 'minio-events');
  return {
    ...server,
    queueDir,
    // MinIO keeps one file per undelivered event and removes it once the target took it.
    queuedEvents: async () => (await readdir(queueDir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).length,
  };
}
