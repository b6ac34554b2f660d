/**
 * POST /api/v1/events/s3: S3 and MinIO bucket notifications, authenticated by the webhook token.
 */
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { parseS3Event, S3EventError } from '../../s3-events/parse.js';
import { startIngest } from '../../pipelines/ingest.js';
import { requireBearer } from '../auth.js';
import { HttpError } from '../errors.js';
import { errorResponse, json, jsonBody, tags } from '../openapi.js';
import type { AppDependencies, AppEnv } from '../types.js';
import { MAX_EVENT_BYTES, parseWebhookJson, webhookBody } from '../webhook-body.js';

// Where the tests have always found the limit; it is the webhook body's (webhook-body.ts).

/**
 * Answers 202 only once every run is durably started, so a sender that gets an error delivers
 * again, and the deterministic workflow ids turn the repeat into `duplicate: true` instead of a
 * second run.
 */
export function s3EventRoutes(deps: AppDependencies): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  document(app);

  app.post('/s3', requireBearer(deps.config.WEBHOOK_TOKEN, 's3-events'), webhookBody(), async (c) => {
    const decision = readS3Event(parseWebhookJson(c.var.webhookBody.text()));
    if (decision.kind === 'test-event') return c.json({ workflows: [], ignored: [{ eventName: 's3:TestEvent', reason: 'test event' }] }, 202);

    const ignored = decision.records.flatMap((r) => (r.action === 'ignore' ? [{ eventName: r.eventName, reason: r.reason }] : []));
    for (const skip of ignored) deps.log.info({ requestId: c.get('requestId'), ...skip }, 'S3 event ignored');
    const workflows = await Promise.all(decision.records.flatMap((r) => (r.action === 'ingest' ? [startIngest(deps.temporal, deps.config, r.object)] : [])));
    for (const run of workflows) {
      deps.log.info({ requestId: c.get('requestId'), ...run }, run.duplicate ? 'duplicate S3 event' : 'ingest started');
      deps.metrics?.runStart('ingest', 's3', run.duplicate);
    }
    return c.json({ workflows, ignored }, 202);
  });

  return app;
}

function readS3Event(body: unknown): ReturnType<typeof parseS3Event> {
  try {
    return parseS3Event(body);
  } catch (err) {
    if (err instanceof S3EventError) throw new HttpError(400, 'invalid_event', err.message);
    throw err;
  }
}

const S3EventAccepted = z
  .object({
    workflows: z.array(z.object({ workflowId: z.string(), runId: z.string(), duplicate: z.boolean() })),
    ignored: z.array(z.object({ eventName: z.string(), reason: z.string() })),
  })
  .openapi('S3EventAccepted');

// The handler reads the raw body itself (MinIO's and AWS's shapes differ); this only documents it.
function document(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.registerPath({
    method: 'post',
    path: '/s3',
    tags: tags('events'),
    summary: 'S3/MinIO bucket notification: one ingest run per created object',
    security: [{ webhookToken: [] }],
    request: {
      body: {
        ...jsonBody(z.object({ Records: z.array(z.looseObject({})).optional() }).loose()),
        description: 'An S3 event notification (AWS `Records[]` or MinIO with `EventName`, `Key`, `Records`)',
      },
    },
    responses: {
      202: json(S3EventAccepted, 'every run durably started (or already there); test and non-create events ignored'),
      400: errorResponse('not JSON, or not an S3 event'),
      401: errorResponse('missing or wrong webhook token'),
      413: errorResponse(`body above ${MAX_EVENT_BYTES} bytes`),
    },
  });
}
