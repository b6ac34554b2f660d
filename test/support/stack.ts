import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import { expect, inject } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import { dropSchema, migrate } from '../../src/db/migrate.js';
import './context.js';

export { waitFor, WaitTimeoutError, type WaitForOptions } from '../../scripts/lib/wait.js';

/**
 * A full Config pointing at the servers the global setup started, with this test's own Postgres
 * schema and task queue so test files can run in parallel without seeing each other's rows or
 * workflow tasks. Nothing is read from the developer's environment or .env.
 */
export function testConfig(overrides: Partial<Record<keyof Config, string>> = {}): Config {
  return loadConfig({
    envFile: false,
    env: {
      LOG_LEVEL: 'warn',
      PORT: '0',
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_NAMESPACE: inject('temporalNamespace'),
      TEMPORAL_TASK_QUEUE: uniqueId('tq'),
      TEMPORAL_AI_TASK_QUEUE: uniqueId('tq-ai'),
      DATABASE_URL: inject('databaseUrl'),
      DATABASE_SCHEMA: uniqueSchema(),
      S3_ENDPOINT: inject('s3Endpoint'),
      S3_ACCESS_KEY_ID: inject('s3AccessKeyId'),
      S3_SECRET_ACCESS_KEY: inject('s3SecretAccessKey'),
      INGEST_BUCKET: inject('ingestBucket'),
      WORK_BUCKET: inject('workBucket'),
      WEBHOOK_TOKEN: inject('webhookToken'),
      ...overrides,
    },
  });
}

/** Migrates the config's schema; the returned function drops it again (CASCADE). */
export async function prepareSchema(
  config: Pick<Config, 'DATABASE_URL' | 'DATABASE_SCHEMA'>,
): Promise<() => Promise<void>> {
  const schema = config.DATABASE_SCHEMA;
  // The cleanup drops the schema with everything in it: never let a test aim it at real data.
  if (!schema.startsWith('t_')) throw new Error(`refusing to manage schema "${schema}" in a test: use testConfig()`);
  await migrate({ databaseUrl: config.DATABASE_URL, schema });
  return () => dropSchema(config.DATABASE_URL, schema);
}

/** `<prefix>-<time>-<random>`: unique across parallel files and repeated runs. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** `t_<test file name>_<random>`, a valid DATABASE_SCHEMA (lowercase, at most 63 characters). */
function uniqueSchema(): string {
  const testPath = expect.getState().testPath;
  const file = testPath ? basename(testPath).replace(/\.test\.[cm]?[jt]s$/, '') : 'x';
  const slug = file.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '').slice(0, 30) || 'x';
  return `t_${slug}_${randomBytes(5).toString('hex')}`;
}
