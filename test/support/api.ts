import { Context } from '@temporalio/activity';
import { pino } from 'pino';
import { expect } from 'vitest';
import { createApp } from '../../src/api/app.js';
import type { AppDependencies } from '../../src/api/types.js';
import { ConnectorService } from '../../src/connectors/service.js';
import { PgConnectorRepository } from '../../src/db/connectors.js';
import { readDataset } from '../../src/db/datasets.js';
import { PgMappingRepository } from '../../src/db/mappings.js';
import { PgAssetReader } from '../../src/db/asset-reader.js';
import { PgObjectReader } from '../../src/db/objects.js';
import { assetTexts } from '../../src/storage/s3.js';
import type { Harness } from './harness.js';

/** The real HTTP app over a harness's servers; tests call `app.request()` on it. */
export function createTestApp(h: Harness, overrides: Partial<AppDependencies> = {}): ReturnType<typeof createApp> {
  const mappings = new PgMappingRepository(h.pool);
  return createApp({
    config: h.config,
    temporal: h.client,
    storage: h.storage,
    mappings,
    objects: new PgObjectReader(h.pool),
    assets: new PgAssetReader(h.pool),
    assetTexts: assetTexts(h.storage, h.config.WORK_BUCKET),
    datasets: { read: (id, limit) => readDataset(h.pool, id, limit) },
    connectors: new ConnectorService({
      connectors: new PgConnectorRepository(h.pool),
      mappings,
      temporal: h.client,
      config: h.config,
      bucketExists: (bucket) => h.storage.hasBucket(bucket),
    }),
    // Unexpected errors (500s) are logged, so a failing test shows their cause.
    log: pino({ level: 'error' }),
    readiness: {
      temporal: () => h.client.workflowService.getSystemInfo({}),
      postgres: () => h.pool.query('SELECT 1'),
      s3: (signal) => h.storage.bucketExists(h.bucket, signal),
    },
    ...overrides,
  });
}

/**
 * `call(method, path, body?)` on the app with the operator key. A request without a body sends no
 * content type either (an empty JSON body is malformed JSON).
 */
export function operatorCall(app: ReturnType<typeof createApp>, h: Harness) {
  return (method: string, path: string, body?: unknown): Promise<Response> =>
    Promise.resolve(
      body === undefined
        ? app.request(path, { method, headers: { authorization: `Bearer ${h.config.API_KEY}` } })
        : app.request(path, { method, headers: operatorHeaders(h), body: JSON.stringify(body) }),
    );
}

export function operatorHeaders(h: Harness, extra: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${h.config.API_KEY}`, 'content-type': 'application/json', ...extra };
}

export interface ErrorResponse {
  error: { code: string; message: string; requestId: string };
  [extra: string]: unknown;
}

/** Asserts the status and the uniform error body; returns the body for further checks. */
export async function expectError(res: Response, status: number, code: string): Promise<ErrorResponse> {
  const body = (await res.json()) as ErrorResponse;
  expect({ status: res.status, code: body.error?.code }).toEqual({ status, code });
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(body.error.requestId.length).toBeGreaterThan(0);
  return body;
}

/** A promise with its resolve function, for holding a step until the test lets it go. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/**
 * Inside an activity: waits for `release`, heartbeating (with `details`) so that a cancel or a
 * terminate reaches the activity, and rejecting with the cancellation when it does.
 */
export async function heldUntil(release: Promise<void>, details?: unknown): Promise<void> {
  const ctx = Context.current();
  const beat = setInterval(() => ctx.heartbeat(details), 200);
  try {
    await Promise.race([
      release,
      new Promise((_, reject) => ctx.cancellationSignal.addEventListener('abort', () => reject(ctx.cancellationSignal.reason as Error))),
    ]);
  } finally {
    clearInterval(beat);
  }
}
