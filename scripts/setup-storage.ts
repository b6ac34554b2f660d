import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { reachOrExit } from '../src/startup.js';
import { createS3Client } from '../src/storage/s3.js';
import { runScript, scriptLog } from './lib/cli.js';
import { setUpBuckets } from './lib/minio.js';

// `node dist/scripts/setup-storage.js` (the compose stack's one-shot `storage-init`): create the
// ingest and work buckets on S3_ENDPOINT if missing and bind the ingest bucket's new-object
// events to MinIO's HARVESTER webhook target, as `npm start` does for the local MinIO. Safe to
// run on every start.
runScript('setup-storage', async () => {
  const config = loadConfig();
  // The buckets may not exist yet: reachable means S3 answers a listing with these credentials.
  const s3 = createS3Client(config);
  await reachOrExit(
    { name: 'S3', setting: 'S3_ENDPOINT', target: config.S3_ENDPOINT, check: ({ signal }) => s3.send(new ListBucketsCommand({}), { abortSignal: signal }) },
    { log: createLogger(config, 'setup-storage'), timeoutSeconds: config.STARTUP_TIMEOUT_SECONDS },
  );
  s3.destroy();
  await setUpBuckets({
    endpoint: config.S3_ENDPOINT,
    region: config.S3_REGION,
    accessKeyId: config.S3_ACCESS_KEY_ID,
    secretAccessKey: config.S3_SECRET_ACCESS_KEY,
    ingestBucket: config.INGEST_BUCKET,
    workBucket: config.WORK_BUCKET,
    log: scriptLog('setup-storage'),
  });
});
