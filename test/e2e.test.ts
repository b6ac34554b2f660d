import type { AddressInfo } from 'node:net';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { createTestApp } from './support/api.js';
import { ingestWorkflowId } from '../src/contracts/ingest.js';
import { ARTICLE } from './support/fixtures.js';
import { startHarness, type Harness } from './support/harness.js';
import { uniqueId, waitFor } from './support/stack.js';

// End to end, as in production: an upload to MinIO, MinIO's own bucket notification to the api's
// webhook, a workflow on the worker, the asset row in Postgres, the status over HTTP.

let h: Harness;
let server: ServerType;
let base: string;

beforeAll(async () => {
  h = await startHarness({ configOverrides: { WEBHOOK_TOKEN: inject('webhookToken') } });
  const app = createTestApp(h);
  // MinIO was started with its webhook target pointing at this port.
  server = serve({ fetch: app.fetch, port: inject('webhookPort'), hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await h?.stop();
});

it('an upload to the bucket becomes one asset row via MinIO notification → webhook → workflow', async () => {
  const bucket = inject('ingestBucket');
  const key = `e2e/${uniqueId('upload')} quarterly report.txt`;
  const put = await h.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: ARTICLE, ContentType: 'text/plain' }));
  const etag = (put.ETag ?? '').replace(/"/g, '');
  const workflowId = ingestWorkflowId({ bucket, key, etag });
  const headers = { authorization: `Bearer ${h.config.API_KEY}` };

  const status = await waitFor(
    async () => {
      const res = await fetch(`${base}/api/v1/workflows/${encodeURIComponent(workflowId)}`, { headers });
      if (res.status === 404) return undefined; // the notification has not arrived yet
      const body = (await res.json()) as { status: string; stage: string; failure: unknown };
      if (body.status === 'RUNNING') return undefined;
      return body;
    },
    { timeoutMs: 60_000, intervalMs: 250, description: `workflow ${workflowId} to close` },
  );
  expect(status).toMatchObject({ status: 'COMPLETED', stage: 'completed', failure: null });

  const { rows } = await h.pool.query<{ n: number; workflow_id: string }>(
    'SELECT count(*)::int AS n, min(workflow_id) AS workflow_id FROM assets WHERE bucket = $1 AND key = $2',
    [bucket, key],
  );
  expect(rows[0]).toEqual({ n: 1, workflow_id: workflowId });

  // The same notification delivered again (S3 delivers at least once): no second run, one row.
  const redelivery = await fetch(`${base}/api/v1/events/s3`, {
    method: 'POST',
    headers: { authorization: `Bearer ${inject('webhookToken')}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      EventName: 's3:ObjectCreated:Put',
      Key: `${bucket}/${key}`,
      Records: [
        {
          eventName: 's3:ObjectCreated:Put',
          s3: { bucket: { name: bucket }, object: { key: encodeURIComponent(key).replace(/%20/g, '+'), size: ARTICLE.length, eTag: etag } },
        },
      ],
    }),
  });
  expect(redelivery.status).toBe(202);
  expect(await redelivery.json()).toMatchObject({ workflows: [{ workflowId, duplicate: true }] });
  const again = await h.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM assets WHERE bucket = $1 AND key = $2', [bucket, key]);
  expect(again.rows[0]?.n).toBe(1);
});
