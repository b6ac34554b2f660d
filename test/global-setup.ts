import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureBinaries, SERVERS, TEST_TOOLS } from '../scripts/lib/binaries.js';
import { scriptLog } from '../scripts/lib/cli.js';
import { setUpBuckets, startMinio } from '../scripts/lib/minio.js';
import { freePort } from '../scripts/lib/net.js';
import { startTemporal } from '../scripts/lib/temporal.js';
import { describeError } from '../scripts/lib/wait.js';
import { loadConfig } from '../src/config.js';
import { ensureDatabase } from '../src/db/migrate.js';
import './support/context.js';

// Real servers for the whole test run: a headless Temporal dev server and MinIO on free ports
// with fresh data in a temp folder, and a test database on the local Postgres. Test files get
// their addresses through inject() (see test/support/stack.ts).

const TEST_DATABASE = 'harvester_test';
const S3 = { region: 'us-east-1', accessKeyId: 'harvester-test', secretAccessKey: 'harvester-test-secret' };

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = scriptLog('global-setup');
  // Only where the binaries are cached and where Postgres runs come from the environment (CI may
  // move them); everything else is the test stack's own.
  const base = loadConfig({ envFile: false });
  const cleanups: (() => Promise<void>)[] = [];
  const teardown = async (): Promise<void> => {
    const errors: unknown[] = [];
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err: unknown) => errors.push(err));
    if (errors.length > 0) throw new AggregateError(errors, 'global teardown failed');
  };

  try {
    const started = Date.now();
    const binaries = await ensureBinaries(base, log, { names: [...SERVERS, ...TEST_TOOLS] });

    const dataDir = await mkdtemp(join(tmpdir(), 'harvester-test-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));

    const namespace = 'harvester-test';
    const temporal = await startTemporal({
      binary: binaries.temporal,
      dataDir,
      port: await freePort(),
      namespace,
      log,
      env: process.env,
    });
    cleanups.push(temporal.stop);

    const webhookPort = await freePort();
    const webhookToken = `test-webhook-${Date.now().toString(36)}`;
    const minio = await startMinio({
      binary: binaries.minio,
      dataDir,
      port: await freePort(),
      consolePort: await freePort(),
      webhook: { endpoint: `http://127.0.0.1:${webhookPort}/api/v1/events/s3`, token: webhookToken },
      log,
      env: process.env,
      ...S3,
    });
    cleanups.push(minio.stop);
    const buckets = { ingestBucket: 'uploads', workBucket: 'harvester-work' };
    await setUpBuckets({ endpoint: minio.address, log, ...buckets, ...S3 });

    const databaseUrl = new URL(base.DATABASE_URL);
    databaseUrl.pathname = `/${TEST_DATABASE}`;
    await ensureDatabase(databaseUrl.toString(), log);
    log(`database ${TEST_DATABASE} on ${databaseUrl.host} ready; stack up in ${Date.now() - started} ms`);

    project.provide('temporalBinary', binaries.temporal);
    project.provide('minioBinary', binaries.minio);
    project.provide('composeConfigBinary', binaries['compose-config']);
    project.provide('kubectlValidateBinary', binaries['kubectl-validate']);
    project.provide('temporalAddress', temporal.address);
    project.provide('temporalNamespace', namespace);
    project.provide('s3Endpoint', minio.address);
    project.provide('s3AccessKeyId', S3.accessKeyId);
    project.provide('s3SecretAccessKey', S3.secretAccessKey);
    project.provide('databaseUrl', databaseUrl.toString());
    project.provide('webhookPort', webhookPort);
    project.provide('webhookToken', webhookToken);
    project.provide('ingestBucket', buckets.ingestBucket);
    project.provide('workBucket', buckets.workBucket);
  } catch (err) {
    // Report the failure that matters; a cleanup problem on top of it is only logged.
    await teardown().catch((cleanupErr: unknown) =>
      log(`cleanup after the failed setup also failed: ${describeError(cleanupErr)}`),
    );
    throw err;
  }

  return async () => {
    log('stopping MinIO and Temporal');
    await teardown();
  };
}
