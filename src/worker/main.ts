/**
 * src/worker: the worker process. This entry point is its thin composition root (config, the
 * start-up waits, the activities over real adapters, the worker); create.ts holds the worker's
 * options, the workflow bundle's sources and the replay options.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import { sweepScratch } from '../activities/support.js';
import { redactConfig, redactUrlPassword } from '../config.js';
import { createPool } from '../db/pool.js';
import { createLogger, temporalLogger } from '../logger.js';
import { loadConfigOrExit, reachOrExit } from '../startup.js';
import { createS3Client, S3Storage } from '../storage/s3.js';
import { startTracing } from '../telemetry.js';
import { connectWorker } from '../temporal/connection.js';
import { createHarvesterWorker } from './create.js';

// The worker process: a thin composition root. Temporal's worker handles SIGINT/SIGTERM itself:
// it stops polling, lets running activities finish within the grace time, then resolves run().
const config = loadConfigOrExit('worker');
const log = createLogger(config, 'worker');
log.info({ config: redactConfig(config) }, 'starting worker');
Runtime.install({
  logger: temporalLogger(log),
  ...(config.WORKER_METRICS_ADDRESS
    ? { telemetryOptions: { metrics: { prometheus: { bindAddress: config.WORKER_METRICS_ADDRESS, countersTotalSuffix: true, useSecondsForDurations: true } } } }
    : {}),
});

const tracing = startTracing('harvester-worker');
log.info({ tracing: tracing.description }, tracing.enabled ? 'tracing on' : 'tracing off (no OTEL_* exporter set)');

const scratchDir = config.SCRATCH_DIR ?? join(tmpdir(), 'harvester-scratch');
const swept = await sweepScratch(scratchDir, 24 * 60 * 60 * 1000);
if (swept > 0) log.info({ swept, scratchDir }, 'removed scratch folders of runs from a previous worker');

// Wait for what the worker needs (bounded by STARTUP_TIMEOUT_SECONDS), so a missing server is one clear line.
const startup = { log, timeoutSeconds: config.STARTUP_TIMEOUT_SECONDS };
const connection = await reachOrExit({ name: 'Temporal', setting: 'TEMPORAL_ADDRESS', target: config.TEMPORAL_ADDRESS, check: () => connectWorker(config) }, startup);
const pool = createPool(config, 10, (err) => log.warn({ err }, 'idle database connection lost; the pool reconnects'));
await reachOrExit({ name: 'Postgres', setting: 'DATABASE_URL', target: redactUrlPassword(config.DATABASE_URL), check: () => pool.query('SELECT 1') }, startup);
// The bucket the activities hand their intermediate products over in; the activities use this client too.
const storage = new S3Storage(createS3Client(config));
await reachOrExit({ name: 'S3', setting: 'S3_ENDPOINT', target: config.S3_ENDPOINT, check: ({ signal }) => storage.bucketExists(config.WORK_BUCKET, signal) }, startup);
// Production loads the bundle built ahead (npm run build:workflows); development bundles the sources.
const bundle = config.WORKFLOW_BUNDLE_PATH;
log.info(bundle ? { workflowBundle: bundle } : {}, bundle ? 'loading the prebuilt workflow bundle' : 'bundling the workflow sources');
const worker = await createHarvesterWorker({
  config,
  connection,
  activities: createActivities({ config, pool, scratchDir, storage }),
  ...(bundle ? { workflowBundle: { codePath: bundle } } : {}),
  tracing,
});
try {
  await worker.run();
} finally {
  await Promise.allSettled([pool.end(), connection.close(), tracing.shutdown()]);
  log.info('worker stopped');
}
