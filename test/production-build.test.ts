import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type pg from 'pg';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { freePort } from '../scripts/lib/net.js';
import type { Config } from '../src/config.js';
import { dropSchema } from '../src/db/migrate.js';
import { createPool } from '../src/db/pool.js';
import { assetRows } from './support/faults.js';
import { type EntryProcess, exitedUnexpectedly, startEntry, stopEntry, untilPolling } from './support/processes.js';
import { type OwnMinio, startOwnMinio } from './support/servers.js';
import { testConfig, waitFor } from './support/stack.js';

// What the container image does, without Docker: the Dockerfile's build steps (compile, bundle
// the workflows ahead, install production dependencies only) into a folder laid out like the
// image's /app, then its one-shot jobs and both processes under plain Node from there. An upload
// to MinIO then goes all the way through: webhook → api → workflow → worker → asset row.

const run = promisify(execFile);
const REPO = new URL('..', import.meta.url).pathname;
const BUCKET = 'prod-uploads';

let app: string;
let config: Config;
let minio: OwnMinio;
let pool: pg.Pool;
const processes: EntryProcess[] = [];

beforeAll(async () => {
  app = await mkdtemp(join(tmpdir(), 'harvester-image-'));
  // The Dockerfile's build stage…
  await run('npx', ['tsc', '-p', 'tsconfig.build.json', '--outDir', join(app, 'dist')], { cwd: REPO });
  await run(process.execPath, ['--import', 'tsx', 'scripts/bundle-workflows.ts', join(app, 'dist', 'workflow-bundle.js')], { cwd: REPO });
  // …and its runtime stage: production dependencies only, the migrations, the build output.
  for (const file of ['package.json', 'package-lock.json', 'migrations', 'prompts']) await cp(join(REPO, file), join(app, file), { recursive: true });
  await run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: app, maxBuffer: 16 * 1024 * 1024 });

  const port = await freePort();
  const webhookToken = 'image-webhook-token';
  // Its own MinIO: the one-shot job under test binds BUCKET's notifications to this api.
  minio = await startOwnMinio({ ingestBucket: 'uploads', workBucket: 'harvester-work', webhookEndpoint: `http://127.0.0.1:${port}/api/v1/events/s3`, webhookToken });
  config = testConfig({
    PORT: String(port),
    LOG_LEVEL: 'info',
    S3_ENDPOINT: minio.address,
    INGEST_BUCKET: BUCKET,
    WORK_BUCKET: 'prod-work',
    WEBHOOK_TOKEN: webhookToken,
    API_KEY: 'image-api-key',
    WORKFLOW_BUNDLE_PATH: join(app, 'dist', 'workflow-bundle.js'),
    SCRATCH_DIR: join(app, 'scratch'),
  });
  pool = createPool(config, 2);
}, 300_000);

afterAll(async () => {
  for (const proc of processes) await stopEntry(proc, 'SIGKILL');
  await pool?.end();
  if (config) await dropSchema(config.DATABASE_URL, config.DATABASE_SCHEMA);
  await minio?.remove();
  if (app) await rm(app, { recursive: true, force: true });
});

/** A one-shot job of the image (migrations, bucket setup): runs to the end and exits 0. */
async function job(entry: string): Promise<string> {
  const proc = startEntry(entry, config, { cwd: app, compiled: true });
  const code = await proc.exit;
  expect(code, proc.output()).toBe(0);
  return proc.output();
}

it('runs the jobs, the api and the worker from the build output with production dependencies only, and ingests an upload', async () => {
  expect(await job('dist/scripts/migrate.js')).toMatch(/migrat/i);
  expect(await job('dist/scripts/setup-storage.js')).toContain(`bucket ${BUCKET} notifies`);

  const api = startEntry('dist/src/api/main.js', config, { cwd: app, compiled: true });
  const worker = startEntry('dist/src/worker/main.js', config, { cwd: app, compiled: true });
  processes.push(api, worker);
  const failIf = (): Error | undefined => exitedUnexpectedly(api, 'the api')() ?? exitedUnexpectedly(worker, 'the worker')();
  await untilPolling(worker);
  // The prebuilt bundle, not a bundle made at start (webpack is not even needed for it).
  expect(worker.output()).toContain('loading the prebuilt workflow bundle');
  expect(worker.output()).not.toContain('Workflow bundle created');

  const s3 = new S3Client({ endpoint: minio.address, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: inject('s3AccessKeyId'), secretAccessKey: inject('s3SecretAccessKey') } });
  try {
    const text = 'The cooperative built a new mill by the river. Farmers bring their grain every autumn.\n'.repeat(10);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'reports/mill.txt', Body: text, ContentType: 'text/plain' }));
  } finally {
    s3.destroy();
  }
  await waitFor(async () => (await assetRows(pool, BUCKET)).get('reports/mill.txt') === 1, {
    timeoutMs: 90_000,
    intervalMs: 250,
    description: 'the asset row of the upload',
    failIf,
  });

  // The run the notification started, as the status API reports it.
  const started = api.output().split('\n').filter((l) => l.includes('"ingest started"')).map((l) => JSON.parse(l) as { workflowId: string });
  expect(started).toHaveLength(1);
  const status = await waitFor(async () => {
    const res = await fetch(`http://127.0.0.1:${config.PORT}/api/v1/workflows/${encodeURIComponent(started[0]!.workflowId)}`, { headers: { authorization: `Bearer ${config.API_KEY}` } });
    const body = (await res.json()) as { status: string };
    return body.status === 'COMPLETED' ? body : undefined;
  }, { timeoutMs: 30_000, description: 'the run to show as completed', failIf });
  expect(status.status).toBe('COMPLETED');

  expect(await stopEntry(api), api.output()).toBe(0);
  expect(await stopEntry(worker), worker.output()).toBe(0);
}, 180_000);

it('holds no development dependency in its production install', async () => {
  const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
  const { stdout } = await run('npm', ['ls', '--omit=dev', '--depth=0', '--json'], { cwd: app });
  const installed = Object.keys((JSON.parse(stdout) as { dependencies: Record<string, unknown> }).dependencies);
  expect(installed.filter((name) => name in pkg.devDependencies)).toEqual([]);
  for (const dev of ['vitest', 'typescript', 'eslint']) {
    await expect(readFile(join(app, 'node_modules', dev, 'package.json'))).rejects.toThrow(/ENOENT/);
  }
});

it('finds the prompt files from the build output, as the worker does with a model configured', async () => {
  const script = `import(${JSON.stringify(join(app, 'dist/src/ai/prompts.js'))}).then((m) => console.log(m.loadPromptSet().document('hello')))`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: app });
  expect(stdout).toContain('<document>\nhello\n</document>');
});
