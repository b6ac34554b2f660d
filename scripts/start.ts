import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config } from '../src/config.js';
import { ensureDatabase, migrate } from '../src/db/migrate.js';
import { ensureBinaries } from './lib/binaries.js';
import { runScript, scriptLog } from './lib/cli.js';
import { setUpBuckets, startMinio } from './lib/minio.js';
import { assertLoopback, assertPortFree, hostPort } from './lib/net.js';
import { describeExit, ExitedEarlyError, spawnProcess, type ManagedProcess } from './lib/process.js';
import { readyMessage } from './lib/ready-message.js';
import { startTemporal, type RunningServer } from './lib/temporal.js';
import { abortedError, describeError, waitFor } from './lib/wait.js';

// `npm start`: the whole local stack in the foreground. Temporal and MinIO start first, then the
// database, then the api and worker; Ctrl-C stops them in the reverse order so the api and worker
// drain against servers that are still up.

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const log = scriptLog('start');
const stopping = new AbortController();
const servers: RunningServer[] = []; // start order: Temporal, MinIO
const apps: ManagedProcess[] = []; // api, worker

async function up(config: Config): Promise<void> {
  const temporalPort = hostPort(config.TEMPORAL_ADDRESS).port;
  const uiPort = hostPort(config.TEMPORAL_UI_URL).port;
  const s3Port = hostPort(config.S3_ENDPOINT).port;
  const consolePort = s3Port + 1;
  for (const [setting, value] of [
    ['TEMPORAL_ADDRESS', config.TEMPORAL_ADDRESS],
    ['TEMPORAL_UI_URL', config.TEMPORAL_UI_URL],
    ['S3_ENDPOINT', config.S3_ENDPOINT],
  ] as const) {
    assertLoopback(setting, value);
  }
  // Fail before starting anything when a leftover server holds a port.
  for (const [what, port] of [
    ['Temporal', temporalPort],
    ['the Temporal UI', uiPort],
    ['MinIO', s3Port],
    ['the MinIO console', consolePort],
    ['the api', config.PORT],
  ] as const) {
    await assertPortFree('127.0.0.1', port, what);
  }

  const binaries = await ensureBinaries(config, log, { signal: stopping.signal });
  throwIfStopping();
  const dataDir = resolve(config.HARVESTER_DATA_DIR);
  const signal = stopping.signal;
  const env = process.env;
  const namespace = config.TEMPORAL_NAMESPACE;
  const temporal = await startTemporal({
    binary: binaries.temporal,
    dataDir,
    port: temporalPort,
    uiPort,
    namespace,
    log,
    env,
    signal,
  });
  servers.push(temporal);
  throwIfStopping();
  // MinIO queues events on disk until the api (started below) answers.
  const webhook = { endpoint: `http://127.0.0.1:${config.PORT}/api/v1/events/s3`, token: config.WEBHOOK_TOKEN };
  const s3 = {
    region: config.S3_REGION,
    accessKeyId: config.S3_ACCESS_KEY_ID,
    secretAccessKey: config.S3_SECRET_ACCESS_KEY,
  };
  const minio = await startMinio({
    binary: binaries.minio,
    dataDir,
    port: s3Port,
    consolePort,
    webhook,
    log,
    env,
    signal,
    ...s3,
  });
  servers.push(minio);
  throwIfStopping();
  const buckets = { ingestBucket: config.INGEST_BUCKET, workBucket: config.WORK_BUCKET };
  await setUpBuckets({ endpoint: minio.address, log, ...buckets, ...s3 });

  await ensureDatabase(config.DATABASE_URL, log);
  await migrate({ databaseUrl: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, log });
  throwIfStopping();

  // Node with tsx's loader rather than the tsx wrapper: the wrapper SIGKILLs a child that does not
  // answer a forwarded signal within milliseconds, which a busy worker cannot.
  for (const [name, entry] of [['api', 'src/api/main.ts'], ['worker', 'src/worker/main.ts']] as const) {
    apps.push(spawnProcess({ name, command: process.execPath, args: ['--import', 'tsx', join(repoRoot, entry)], env, output: 'prefix' }));
  }
  const api = `http://127.0.0.1:${config.PORT}`;
  log(`waiting for ${api}/readyz`);
  await waitFor(async () => {
    const res = await fetch(`${api}/readyz`);
    const body = await res.text();
    if (res.status === 200) return true;
    throw new Error(`readyz answered ${res.status}: ${body}`);
  }, {
    timeoutMs: 90_000,
    intervalMs: 500,
    description: `${api}/readyz to answer 200`,
    failIf: async () => abortedError(signal) ?? (await firstEarlyExit()),
  });
  const urls = { api, temporalUi: config.TEMPORAL_UI_URL, s3: minio.address, minioConsole: minio.consoleUrl };
  process.stdout.write(readyMessage(config, urls));
}

async function firstEarlyExit(): Promise<Error | undefined> {
  for (const app of apps) {
    const err = await app.exitedEarlyError();
    if (err) return err;
  }
  return undefined;
}

function throwIfStopping(): void {
  const err = abortedError(stopping.signal);
  if (err) throw err;
}

/** Settles with an error describing the first process of the stack that ends on its own. */
function anyExit(): Promise<Error> {
  return Promise.race([
    ...apps.map(async (app) => {
      await app.exited;
      return (await app.exitedEarlyError()) ?? new Error(`${app.name} ended`);
    }),
    ...servers.map(async (server) => {
      const info = await server.exited;
      return new ExitedEarlyError(`${server.name} exited: ${describeExit(info)} (log: ${server.logFile})`, info);
    }),
  ]);
}

async function down(): Promise<void> {
  const results: PromiseSettledResult<unknown>[] = [];
  if (apps.length > 0) {
    results.push(...(await Promise.allSettled(apps.map((p) => p.stop(10_000)))));
    log(`${apps.map((p) => p.name).join(' and ')} stopped`);
  }
  for (const server of [...servers].reverse()) {
    results.push(...(await Promise.allSettled([server.stop()])));
    log(`${server.name} stopped`);
  }
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length > 0) throw new AggregateError(failed.map((f) => f.reason as unknown), 'stopping the stack failed');
}

/**
 * One Ctrl-C can arrive more than once: the terminal signals the whole foreground group, and npm
 * and tsx also relay it. Repeats this soon after the first are that echo, not a second keypress.
 */
const ECHO_WINDOW_MS = 500;
let firstSignalAt = 0;

function onSignal(signal: NodeJS.Signals): void {
  if (stopping.signal.aborted) {
    if (Date.now() - firstSignalAt < ECHO_WINDOW_MS) return;
    log(`${signal} again: killing everything now`);
    for (const app of apps) app.kill();
    // Temporal and MinIO are killed by the exit hook of lib/process.ts.
    process.exit(130);
  }
  firstSignalAt = Date.now();
  log(`${signal}: stopping api and worker, then MinIO, then Temporal (Ctrl-C again to force)`);
  stopping.abort(new Error(`stopped by ${signal}`));
}

runScript('start', async () => {
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const config = loadConfig();
  const stopRequested = new Promise<void>((r) => stopping.signal.addEventListener('abort', () => r(), { once: true }));
  let failure: Error | undefined;
  try {
    await up(config);
    const crashed = await Promise.race([stopRequested, anyExit()]);
    if (crashed && !stopping.signal.aborted) failure = crashed;
  } catch (err) {
    if (!stopping.signal.aborted) failure = err instanceof Error ? err : new Error(describeError(err));
  }
  if (failure) log('start-up or a process failed (details below): stopping what runs');
  await down();
  log('all stopped');
  if (failure) throw failure;
});
