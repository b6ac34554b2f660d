import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  CreateBucketCommand,
  ListBucketsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketNotificationConfigurationCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { spawnProcess, type Log } from './process.js';
import type { RunningServer } from './temporal.js';
import { abortedError, waitFor } from './wait.js';

/**
 * MinIO's id for Harvester's webhook target. MinIO takes it verbatim from the env variable names
 * (MINIO_NOTIFY_WEBHOOK_*_HARVESTER) and matches it case-sensitively in the ARN, so both are
 * built from this one constant.
 */
export const WEBHOOK_TARGET_ID = 'HARVESTER';
export const WEBHOOK_ARN = `arn:minio:sqs::${WEBHOOK_TARGET_ID}:webhook`;
/** Only new objects: `s3:ObjectCreated:*` would also fire on tagging and retention changes. */
export const NOTIFIED_EVENTS = ['s3:ObjectCreated:Put', 's3:ObjectCreated:CompleteMultipartUpload'] as const;

export interface S3Credentials {
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface MinioOptions extends S3Credentials {
  binary: string;
  /** Holds the objects (minio/), the undelivered-event queue (minio-events/) and minio.log. */
  dataDir: string;
  port: number;
  consolePort: number;
  webhook: { endpoint: string; token: string };
  log: Log;
  /** Environment passed down to the server process. */
  env: NodeJS.ProcessEnv;
  readyTimeoutMs?: number;
  /** Aborting stops waiting for readiness (Ctrl-C during start-up); the server is then stopped. */
  signal?: AbortSignal;
}

export interface RunningMinio extends RunningServer {
  consoleUrl: string;
}

export async function startMinio(options: MinioOptions): Promise<RunningMinio> {
  const { binary, port, consolePort, webhook, log } = options;
  const dataDir = resolve(options.dataDir);
  const objectsDir = join(dataDir, 'minio');
  // MinIO wants an absolute queue folder; events wait there while the api is down.
  const queueDir = join(dataDir, 'minio-events');
  await Promise.all([mkdir(objectsDir, { recursive: true }), mkdir(queueDir, { recursive: true })]);
  const logFile = join(dataDir, 'minio.log');
  const endpoint = `http://127.0.0.1:${port}`;
  const consoleUrl = `http://127.0.0.1:${consolePort}`;
  const env: NodeJS.ProcessEnv = {
    ...options.env,
    MINIO_ROOT_USER: options.accessKeyId,
    MINIO_ROOT_PASSWORD: options.secretAccessKey,
    ...(options.region ? { MINIO_SITE_REGION: options.region } : {}),
    [`MINIO_NOTIFY_WEBHOOK_ENABLE_${WEBHOOK_TARGET_ID}`]: 'on',
    [`MINIO_NOTIFY_WEBHOOK_ENDPOINT_${WEBHOOK_TARGET_ID}`]: webhook.endpoint,
    [`MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_${WEBHOOK_TARGET_ID}`]: webhook.token,
    [`MINIO_NOTIFY_WEBHOOK_QUEUE_DIR_${WEBHOOK_TARGET_ID}`]: queueDir,
    [`MINIO_NOTIFY_WEBHOOK_QUEUE_LIMIT_${WEBHOOK_TARGET_ID}`]: '100000',
  };
  const args = ['server', objectsDir, '--address', `127.0.0.1:${port}`];
  args.push('--console-address', `127.0.0.1:${consolePort}`);
  log(`starting MinIO on ${endpoint}, console on ${consoleUrl}, webhook → ${webhook.endpoint} (log: ${logFile})`);
  const proc = spawnProcess({ name: 'minio', command: binary, args, env, output: { file: logFile } });
  const stop = async (): Promise<void> => {
    await proc.stop(10_000);
  };
  try {
    const timeoutMs = options.readyTimeoutMs ?? 60_000;
    const started = Date.now();
    const failIf = async (): Promise<Error | undefined> =>
      abortedError(options.signal) ?? (await proc.exitedEarlyError());
    await waitFor(async () => {
      const res = await fetch(`${endpoint}/minio/health/live`);
      await res.arrayBuffer(); // frees the connection
      return res.status === 200;
    }, {
      timeoutMs,
      intervalMs: 200,
      description: `MinIO on ${endpoint} to be live`,
      failIf,
    });
    // Live is not yet serving S3 (the drive may still be initialising): wait for a signed call.
    const s3 = s3Client(endpoint, options);
    try {
      await waitFor(async () => (await s3.send(new ListBucketsCommand({}))).$metadata.httpStatusCode === 200, {
        timeoutMs,
        intervalMs: 200,
        description: `MinIO on ${endpoint} to answer S3 requests`,
        failIf,
      });
    } finally {
      s3.destroy();
    }
    log(`MinIO ready on ${endpoint} (${Date.now() - started} ms)`);
  } catch (err) {
    await stop();
    throw err;
  }
  return { name: 'MinIO', address: endpoint, consoleUrl, logFile, exited: proc.exited, stop };
}

export interface BucketSetup extends S3Credentials {
  endpoint: string;
  ingestBucket: string;
  workBucket: string;
  log: Log;
}

/**
 * Creates both buckets if missing and binds the ingest bucket's ObjectCreated events to the
 * webhook target. Safe to run on every start: the notification configuration is replaced whole.
 */
/** Longer than the dev namespace's retention: a run that can still be reset finds its files. */
export const WORK_RETENTION_DAYS = 7;

export async function setUpBuckets(options: BucketSetup): Promise<void> {
  const { ingestBucket, workBucket, log } = options;
  const s3 = s3Client(options.endpoint, options);
  try {
    for (const bucket of [ingestBucket, workBucket]) {
      log((await createBucket(s3, bucket)) ? `created bucket ${bucket}` : `bucket ${bucket} exists`);
    }
    // MinIO registers its webhook target in the background after it starts answering; until then
    // it refuses the ARN (InvalidArgument). On a busy machine that takes a few seconds.
    await waitFor(
      async () => {
        await s3.send(
          new PutBucketNotificationConfigurationCommand({
            Bucket: ingestBucket,
            NotificationConfiguration: {
              QueueConfigurations: [{ Id: 'harvester-ingest', QueueArn: WEBHOOK_ARN, Events: [...NOTIFIED_EVENTS] }],
            },
          }),
        );
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 250, description: `MinIO to accept ${WEBHOOK_ARN} for bucket ${ingestBucket}` },
    );
    log(`bucket ${ingestBucket} notifies ${WEBHOOK_ARN} on ${NOTIFIED_EVENTS.join(', ')}`);
    // Successful and cancelled runs remove their intermediate products themselves; failed and
    // terminated runs keep them so a retry can resume from the failed step. This rule removes
    // what is never retried. Connector snapshots (under connectors/) are dataset versions: they stay.
    await s3.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: workBucket,
        LifecycleConfiguration: {
          Rules: [{ ID: 'expire-intermediate-products', Status: 'Enabled', Filter: { Prefix: 'ingest/' }, Expiration: { Days: WORK_RETENTION_DAYS } }],
        },
      }),
    );
    log(`bucket ${workBucket} expires ingest/ objects after ${WORK_RETENTION_DAYS} days`);
  } finally {
    s3.destroy();
  }
}

/** True when it was created, false when it already existed (a restart of the stack). */
async function createBucket(s3: S3Client, bucket: string): Promise<boolean> {
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    return true;
  } catch (err) {
    if (err instanceof S3ServiceException && err.name === 'BucketAlreadyOwnedByYou') return false;
    throw err;
  }
}

function s3Client(endpoint: string, credentials: S3Credentials): S3Client {
  return new S3Client({
    endpoint,
    region: credentials.region,
    forcePathStyle: true,
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
    // waitFor does the retrying, with a deadline.
    maxAttempts: 1,
  });
}
