import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Config } from '../src/config.js';
import { freePort } from '../scripts/lib/net.js';
import { startEntry, stopEntry, untilApiReady, untilPolling } from './support/processes.js';
import { prepareSchema, testConfig, waitFor } from './support/stack.js';

// The two entry points as separate processes under plain Node ESM, as `npm run api` and
// `npm run worker` start them: the module graph must load outside vitest's transformer, and both
// must stop cleanly on SIGTERM.

let config: Config;
let dropSchema: () => Promise<void>;

/** Distinct values for every secret, so a test can look for them in the logs. */
const SECRETS = {
  API_KEY: 'secret-api-key-5f1c',
  WEBHOOK_TOKEN: 'secret-webhook-token-93ab',
  EVENTS_SECRET: 'whsec_c2VjcmV0LWV2ZW50cy1zZWNyZXQtNzdkMg==',
  DB_PASSWORD: 'secret-db-password-0e4d',
  AI_API_KEY: 'sk-secret-model-key-4a7e',
};

beforeAll(async () => {
  // info: the test reads the processes' own start and stop lines.
  const base = testConfig();
  // The local Postgres trusts its clients, so the password is sent and ignored: only its
  // appearance in the logs matters here.
  const databaseUrl = new URL(base.DATABASE_URL);
  databaseUrl.password = SECRETS.DB_PASSWORD;
  config = testConfig({
    PORT: String(await freePort()),
    LOG_LEVEL: 'info',
    DATABASE_SCHEMA: base.DATABASE_SCHEMA,
    DATABASE_URL: databaseUrl.toString(),
    API_KEY: SECRETS.API_KEY,
    WEBHOOK_TOKEN: SECRETS.WEBHOOK_TOKEN,
    EVENTS_SECRET: SECRETS.EVENTS_SECRET,
    AI_API_KEY: SECRETS.AI_API_KEY,
  });
  dropSchema = await prepareSchema(config);
});

/** No secret of the config in a process's output (its start-up line logs the whole config). */
function expectNoSecrets(output: string): void {
  for (const [name, value] of [...Object.entries(SECRETS), ['S3_SECRET_ACCESS_KEY', config.S3_SECRET_ACCESS_KEY]]) {
    expect(output.includes(value!), `${name} appears in the output`).toBe(false);
  }
}

afterAll(async () => {
  await dropSchema?.();
});

it('runs the api process: ready on its port, documented, measured, and stops on SIGTERM', async () => {
  const api = startEntry('src/api/main.ts', config);
  try {
    const base = `http://127.0.0.1:${config.PORT}`;
    await untilApiReady(api, config.PORT);
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as { openapi: string };
    expect(doc.openapi).toBe('3.1.0');
    // The process's own metrics beside the request counts.
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('harvester_api_process_cpu_user_seconds_total');
    expect(metrics).toContain('harvester_http_requests_total{method="GET",route="/readyz",status="200"}');
    // Requests that carry the secrets, rightly and wrongly, are logged without them.
    const auth = { authorization: `Bearer ${SECRETS.API_KEY}` };
    expect((await fetch(`${base}/api/v1/workflows?pageSize=1`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${base}/api/v1/events/s3`, { method: 'POST', headers: { authorization: `Bearer ${SECRETS.API_KEY}`, 'content-type': 'application/json' }, body: '{}' })).status).toBe(401);
  } finally {
    expect(await stopEntry(api), api.output()).toBe(0);
  }
  expect(api.output()).toContain('api stopped');
  expect(api.output()).toContain('"API_KEY":"***"');
  expectNoSecrets(api.output());
});

it('runs the worker process: polls its task queue, serves its metrics, and stops on SIGTERM', async () => {
  const metricsAddress = `127.0.0.1:${await freePort()}`;
  const worker = startEntry('src/worker/main.ts', { ...config, WORKER_METRICS_ADDRESS: metricsAddress });
  try {
    await untilPolling(worker);
    // The SDK runtime's exporter: its poll requests show up as they happen.
    const metrics = await waitFor(async () => {
      const text = await (await fetch(`http://${metricsAddress}/metrics`)).text();
      return text.includes('temporal_request_total') ? text : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200, description: 'the worker metrics to show its requests to Temporal' });
    expect(metrics).toContain(`task_queue="${config.TEMPORAL_TASK_QUEUE}"`);
  } finally {
    expect(await stopEntry(worker), worker.output()).toBe(0);
  }
  expect(worker.output()).toContain('worker stopped');
  expectNoSecrets(worker.output());
});
