import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import type pg from 'pg';
import { type ActivityResources, createActivities } from '../../src/activities/index.js';
import type { Config } from '../../src/config.js';
import { createPool } from '../../src/db/pool.js';
import { createS3Client, S3Storage } from '../../src/storage/s3.js';
import { connectClient, connectWorker } from '../../src/temporal/connection.js';
import { createHarvesterWorker, type HarvesterWorker } from '../../src/worker/create.js';
import { prepareSchema, testConfig, uniqueId } from './stack.js';

/**
 * Everything a pipeline test needs, on the real servers: its own Postgres schema, task queue and
 * bucket (without notifications), a client and a running worker with the real activities.
 */
export interface Harness {
  config: Config;
  client: Client;
  pool: pg.Pool;
  s3: S3Client;
  storage: S3Storage;
  /** A fresh bucket of this test file; uploads to it start nothing by themselves. */
  bucket: string;
  scratchDir: string;
  put(key: string, body: string | Uint8Array, contentType?: string): Promise<{ etag: string }>;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  configOverrides?: Partial<Record<keyof Config, string>>;
  /** Replaces some activities, for tests that must force a failure or a slow step. */
  activities?: (real: ReturnType<typeof createActivities>, resources: ActivityResources) => object;
  /** Start without a worker (tests of starts and duplicates). */
  worker?: boolean;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const config = testConfig(options.configOverrides);
  const dropSchema = await prepareSchema(config);
  const pool = createPool(config, 4);
  const s3 = createS3Client(config);
  const storage = new S3Storage(s3);
  const bucket = uniqueId('t').toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 63);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const client = await connectClient(config);
  const scratchDir = await mkdtemp(join(tmpdir(), 'harvester-test-scratch-'));

  let connection: NativeConnection | undefined;
  let worker: HarvesterWorker | undefined;
  let running: Promise<void> | undefined;
  if (options.worker !== false) {
    connection = await connectWorker(config);
    const resources = { config, pool, scratchDir };
    const real = createActivities(resources);
    worker = await createHarvesterWorker({
      config,
      connection,
      activities: options.activities ? options.activities(real, resources) : real,
    });
    running = worker.run();
  }

  return {
    config,
    client,
    pool,
    s3,
    storage,
    bucket,
    scratchDir,
    async put(key, body, contentType) {
      const out = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
      return { etag: (out.ETag ?? '').replace(/"/g, '') };
    },
    async stop() {
      if (worker && running) {
        worker.shutdown();
        await running;
      }
      await connection?.close();
      await client.connection.close();
      await pool.end();
      s3.destroy();
      await dropSchema();
      await rm(scratchDir, { recursive: true, force: true });
    },
  };
}
