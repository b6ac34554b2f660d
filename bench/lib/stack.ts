import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBinaries } from '../../scripts/lib/binaries.js';
import { setUpBuckets, startMinio } from '../../scripts/lib/minio.js';
import { freePort } from '../../scripts/lib/net.js';
import type { Log } from '../../scripts/lib/process.js';
import { startTemporal } from '../../scripts/lib/temporal.js';
import { loadConfig, type Config } from '../../src/config.js';
import { dropSchema, ensureDatabase, migrate } from '../../src/db/migrate.js';
import type { Cleanups } from './cleanups.js';

// The servers of one benchmark run, started the way test/global-setup.ts starts them: the cached
// Temporal and MinIO binaries on free ports with fresh data in a temp folder, and a dedicated
// database on the local Postgres with a fresh schema that is dropped at the end.

const BENCH_DATABASE = 'harvester_bench';
const NAMESPACE = 'harvester-bench';
const S3 = { region: 'us-east-1', accessKeyId: 'harvester-bench', secretAccessKey: 'harvester-bench-secret' };

export interface BenchStack {
  config: Config;
  /** Temp folder for the servers' data and the generated CSV; removed at the end. */
  dataDir: string;
}

export async function startStack(log: Log, cleanups: Cleanups, signal: AbortSignal): Promise<BenchStack> {
  // Only where the binaries are cached and where Postgres runs come from the environment, as in
  // the tests; everything else belongs to this run.
  const base = loadConfig({ envFile: false });
  const binaries = await ensureBinaries(base, log, { signal });

  const dataDir = await mkdtemp(join(tmpdir(), 'harvester-bench-'));
  cleanups.add('remove the temp folder', () => rm(dataDir, { recursive: true, force: true }));

  const temporal = await startTemporal({ binary: binaries.temporal, dataDir, port: await freePort(), namespace: NAMESPACE, log, env: process.env, signal });
  cleanups.add('stop Temporal', temporal.stop);

  // Nothing listens on the webhook port: the dataset goes to a bucket without notifications.
  const webhook = { endpoint: `http://127.0.0.1:${await freePort()}/api/v1/events/s3`, token: `bench-${randomBytes(6).toString('hex')}` };
  const minio = await startMinio({ binary: binaries.minio, dataDir, port: await freePort(), consolePort: await freePort(), webhook, log, env: process.env, signal, ...S3 });
  cleanups.add('stop MinIO', minio.stop);
  const buckets = { ingestBucket: 'uploads', workBucket: 'harvester-work' };
  await setUpBuckets({ endpoint: minio.address, log, ...buckets, ...S3 });

  const databaseUrl = new URL(base.DATABASE_URL);
  databaseUrl.pathname = `/${BENCH_DATABASE}`;
  await ensureDatabase(databaseUrl.toString(), log);
  const schema = `bench_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  cleanups.add(`drop schema ${schema}`, async () => {
    await dropSchema(databaseUrl.toString(), schema);
    log(`dropped schema ${schema}`);
  });
  await migrate({ databaseUrl: databaseUrl.toString(), schema, log });

  const config = loadConfig({
    envFile: false,
    env: {
      LOG_LEVEL: 'warn',
      PORT: '0',
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: NAMESPACE,
      TEMPORAL_TASK_QUEUE: `bench-${randomBytes(4).toString('hex')}`,
      DATABASE_URL: databaseUrl.toString(),
      DATABASE_SCHEMA: schema,
      S3_ENDPOINT: minio.address,
      S3_REGION: S3.region,
      S3_ACCESS_KEY_ID: S3.accessKeyId,
      S3_SECRET_ACCESS_KEY: S3.secretAccessKey,
      INGEST_BUCKET: buckets.ingestBucket,
      WORK_BUCKET: buckets.workBucket,
      WEBHOOK_TOKEN: webhook.token,
    },
  });
  return { config, dataDir };
}
