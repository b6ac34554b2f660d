import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import { sweepScratch } from '../activities/support.js';
import { loadConfig, redactConfig } from '../config.js';
import { createPool } from '../db/pool.js';
import { createLogger, temporalLogger } from '../logger.js';
import { startTracing } from '../telemetry.js';
import { connectWorker } from '../temporal/connection.js';
import { createHarvesterWorker } from './create.js';

// The worker process: a thin composition root. Temporal's worker handles SIGINT/SIGTERM itself:
// it stops polling, lets running activities finish within the grace time, then resolves run().
const config = loadConfig();
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

const pool = createPool(config, 10, (err) => log.warn({ err }, 'idle database connection lost; the pool reconnects'));
const connection = await connectWorker(config);
// Production loads the bundle built ahead (npm run build:workflows); development bundles the sources.
const bundle = config.WORKFLOW_BUNDLE_PATH;
log.info(bundle ? { workflowBundle: bundle } : {}, bundle ? 'loading the prebuilt workflow bundle' : 'bundling the workflow sources');
const worker = await createHarvesterWorker({
  config,
  connection,
  activities: createActivities({ config, pool, scratchDir }),
  shutdownGraceSeconds: config.WORKER_SHUTDOWN_GRACE_SECONDS,
  ...(bundle ? { workflowBundle: { codePath: bundle } } : {}),
  tracing,
});
try {
  await worker.run();
} finally {
  await Promise.allSettled([pool.end(), connection.close(), tracing.shutdown()]);
  log.info('worker stopped');
}
