import { serve } from '@hono/node-server';
import { redactConfig, redactUrlPassword } from '../config.js';
import { ConnectorService } from '../connectors/service.js';
import { PgConnectorRepository } from '../db/connectors.js';
import { readDataset } from '../db/datasets.js';
import { PgMappingRepository } from '../db/mappings.js';
import { PgAssetReader } from '../db/asset-reader.js';
import { PgObjectReader } from '../db/objects.js';
import { createPool } from '../db/pool.js';
import { createLogger } from '../logger.js';
import { loadConfigOrExit, reachOrExit } from '../startup.js';
import { startTracing } from '../telemetry.js';
import { assetTexts, createS3Client, S3Storage } from '../storage/s3.js';
import { connectClient } from '../temporal/connection.js';
import { RunWatchHub } from '../temporal/run-watch.js';
import { createApp } from './app.js';
import { ApiMetrics } from './metrics.js';

// The api process: a thin composition root over createApp().
const config = loadConfigOrExit('api');
const log = createLogger(config, 'api');
log.info({ config: redactConfig(config) }, 'starting api');
// Before the Temporal client exists: its interceptor reads the registered propagator.
const tracing = startTracing('harvester-api');
log.info({ tracing: tracing.description }, tracing.enabled ? 'tracing on' : 'tracing off (no OTEL_* exporter set)');

// Wait for what the api needs (bounded by STARTUP_TIMEOUT_SECONDS), so a missing server is one clear line.
const startup = { log, timeoutSeconds: config.STARTUP_TIMEOUT_SECONDS };
const temporal = await reachOrExit(
  { name: 'Temporal', setting: 'TEMPORAL_ADDRESS', target: config.TEMPORAL_ADDRESS, check: ({ timeoutMs }) => connectClient(config, { timeoutMs }) },
  startup,
);
const pool = createPool(config, 4, (err) => log.warn({ err }, 'idle database connection lost; the pool reconnects'));
await reachOrExit({ name: 'Postgres', setting: 'DATABASE_URL', target: redactUrlPassword(config.DATABASE_URL), check: () => pool.query('SELECT 1') }, startup);
const storage = new S3Storage(createS3Client(config));
await reachOrExit({ name: 'S3', setting: 'S3_ENDPOINT', target: config.S3_ENDPOINT, check: ({ signal }) => storage.bucketExists(config.INGEST_BUCKET, signal) }, startup);
const runWatch = new RunWatchHub(temporal, config, { log });
const mappings = new PgMappingRepository(pool);

const app = createApp({
  config,
  temporal,
  storage,
  mappings,
  objects: new PgObjectReader(pool),
  assets: new PgAssetReader(pool),
  assetTexts: assetTexts(storage, config.WORK_BUCKET),
  datasets: { read: (id, limit) => readDataset(pool, id, limit) },
  connectors: new ConnectorService({ connectors: new PgConnectorRepository(pool), mappings, temporal, config, bucketExists: (bucket) => storage.hasBucket(bucket) }),
  log,
  runWatch,
  metrics: new ApiMetrics({ processMetrics: true }),
  readiness: {
    temporal: () => temporal.workflowService.getSystemInfo({}),
    postgres: () => pool.query('SELECT 1'),
    s3: (signal) => storage.bucketExists(config.INGEST_BUCKET, signal),
  },
});

const server = serve({ fetch: app.fetch, port: config.PORT, hostname: '0.0.0.0' }, (info) => {
  log.info({ port: info.port }, 'api listening');
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'api stopping');
  // Open event streams would hold server.close() forever: end them (clients reconnect elsewhere).
  runWatch.close();
  // Stop accepting requests, let in-flight ones finish, then release connections.
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await Promise.allSettled([pool.end(), temporal.connection.close(), tracing.shutdown()]);
  log.info('api stopped');
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    shutdown(signal).then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'api shutdown failed');
        process.exit(1);
      },
    );
  });
}
