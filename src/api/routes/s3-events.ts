import { OpenAPIHono, z } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { parseS3Event, S3EventError } from '../../s3-events/parse.js';
import { startIngest } from '../../pipelines/ingest.js';
import type { AppDependencies, AppEnv } from '../app.js';
import { requireBearer } from '../auth.js';
import { HttpError } from '../errors.js';
import { ErrorSchema } from '../schemas.js';

export const MAX_EVENT_BYTES = 1024 * 1024;

/**
 * POST /api/v1/events/s3: S3 and MinIO bucket notifications. Answers 202 only once every run is
 * durably started, so a sender that gets an error delivers again, and the deterministic workflow
 * ids turn the repeat into `duplicate: true` instead of a second run.
 */
export function s3EventRoutes(deps: AppDependencies): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  document(app);

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
      for (const run of workflows) {
        deps.log.info({ requestId: c.get('requestId'), ...run }, run.duplicate ? 'duplicate S3 event' : 'ingest started');
        deps.metrics?.runStart('ingest', 's3', run.duplicate);
      }
      return c.json({ workflows, ignored }, 202);
    },
  );

  return app;
}

const S3EventAccepted = z
  .object({
    workflows: z.array(z.object({ workflowId: z.string(), runId: z.string(), duplicate: z.boolean() })),
    ignored: z.array(z.object({ eventName: z.string(), reason: z.string() })),
  })
  .openapi('S3EventAccepted');

// The handler reads the raw body itself (MinIO's and AWS's shapes differ); this only documents it.
function document(app: OpenAPIHono<AppEnv>): void {
  const error = (description: string) => ({ description, content: { 'application/json': { schema: ErrorSchema } } });
  app.openAPIRegistry.registerPath({
    method: 'post',
    path: '/s3',
    summary: 'S3/MinIO bucket notification: one ingest run per created object',
    security: [{ webhookToken: [] }],
    request: {
      body: {
        required: true,
        description: 'An S3 event notification (AWS `Records[]` or MinIO with `EventName`, `Key`, `Records`)',
        content: { 'application/json': { schema: z.object({ Records: z.array(z.looseObject({})).optional() }).loose() } },
      },
    },
    responses: {
      202: { description: 'every run durably started (or already there); test and non-create events ignored', content: { 'application/json': { schema: S3EventAccepted } } },
      400: error('not JSON, or not an S3 event'),
      401: error('missing or wrong webhook token'),
      413: error(`body above ${MAX_EVENT_BYTES} bytes`),
    },
  });
}
