import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { parseS3Event, S3EventError } from '../../s3-events/parse.js';
import { startIngest } from '../../pipelines/ingest.js';
import type { AppDependencies, AppEnv } from '../app.js';
import { requireBearer } from '../auth.js';
import { HttpError } from '../errors.js';

export const MAX_EVENT_BYTES = 1024 * 1024;

/**
 * POST /api/v1/events/s3: S3 and MinIO bucket notifications. Answers 202 only once every run is
 * durably started, so a sender that gets an error delivers again, and the deterministic workflow
 * ids turn the repeat into `duplicate: true` instead of a second run.
 */
export function s3EventRoutes(deps: AppDependencies): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.post(
    '/s3',
    requireBearer(deps.config.WEBHOOK_TOKEN, 's3-events'),
    bodyLimit({
      maxSize: MAX_EVENT_BYTES,
      onError: () => {
        throw new HttpError(413, 'payload_too_large', `event bodies are limited to ${MAX_EVENT_BYTES} bytes`);
      },
    }),
    async (c) => {
      const raw = await c.req.text();
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        throw new HttpError(400, 'invalid_json', 'the body is not valid JSON');
      }
      let decision;
      try {
        decision = parseS3Event(body);
      } catch (err) {
        if (err instanceof S3EventError) throw new HttpError(400, 'invalid_event', err.message);
        throw err;
      }
      if (decision.kind === 'test-event') return c.json({ workflows: [], ignored: [{ eventName: 's3:TestEvent', reason: 'test event' }] }, 202);

      const ignored = decision.records.flatMap((r) => (r.action === 'ignore' ? [{ eventName: r.eventName, reason: r.reason }] : []));
      for (const skip of ignored) deps.log.info({ requestId: c.get('requestId'), ...skip }, 'S3 event ignored');
      const workflows = await Promise.all(
        decision.records.flatMap((r) => (r.action === 'ingest' ? [startIngest(deps.temporal, deps.config, r.object)] : [])),
      );
      for (const run of workflows) deps.log.info({ requestId: c.get('requestId'), ...run }, run.duplicate ? 'duplicate S3 event' : 'ingest started');
      return c.json({ workflows, ignored }, 202);
    },
  );

  return app;
}
