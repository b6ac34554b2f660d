/**
 * POST /api/v1/events: signed generic events, routed by event_type to the run they start. The
 * signature is the authentication, so it is checked on the raw bytes before anything is parsed;
 * the handler is a plain `post` for that reason and the route is only documented in the OpenAPI
 * registry.
 */
import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { EVENT_ROUTES, EventRejectedError, type RoutedEvent } from '../../events/routing.js';
import { createSignatureVerifier, type SignatureVerifier, TOLERANCE_SECONDS } from '../../events/signature.js';
import { textProblem } from '../../support/text.js';
import { HttpError, zodMessage } from '../errors.js';
import { errorResponse, json, jsonBody, tags } from '../openapi.js';
import { isTraceId, traceIdFromTraceparent } from '../trace.js';
import type { AppDependencies, AppEnv } from '../types.js';
import { MAX_EVENT_BYTES, parseWebhookJson, webhookBody, type WebhookBodyEnv } from '../webhook-body.js';

export const EventEnvelope = z
  .object({
    // Minor versions only add fields, so unknown top-level fields are ignored rather than refused.
    schema_version: z.string().regex(/^1(\.[0-9]+)?$/, 'must be "1" or "1.<minor>"').openapi({ example: '1' }),
    event_id: z
      .string()
      .min(1)
      .max(200)
      // It names the run, and a run must be addressable by the operator API, which refuses such text.
      .refine((id) => textProblem(id) === undefined, 'event_id may not contain a NUL character or an unpaired surrogate')
      .openapi({ description: 'the idempotency key: the same event_id from the same source is one run', example: 'evt_01J9Z7' }),
    event_type: z.string().min(1).max(200).openapi({ example: 'asset.uploaded' }),
    source: z
      .string()
      .regex(/^[A-Za-z0-9._:/-]{1,200}$/, '1 to 200 characters of A-Z a-z 0-9 . _ : / -')
      .openapi({ example: 'crm/uploads' }),
    timestamp: z.iso.datetime({ offset: true }).openapi({ example: '2025-01-31T12:00:00Z' }),
    trace_id: z
      .string()
      .refine(isTraceId, 'a W3C trace id: 32 lowercase hex digits, not all zero')
      .optional()
      .openapi({ description: 'kept with the run (memo) and in the logs; else taken from the traceparent header' }),
    payload: z.looseObject({}).openapi({ description: 'the event type\'s payload; asset.uploaded: { bucket, key, versionId?, etag?, size?, contentType? }' }),
  })
  .openapi('EventEnvelope');

type Envelope = z.infer<typeof EventEnvelope>;

const EventAccepted = z
  .object({
    eventId: z.string(),
    eventType: z.string(),
    pipeline: z.string(),
    workflowId: z.string(),
    runId: z.string(),
    duplicate: z.boolean().openapi({ description: 'true when this event already had a run: nothing new was started' }),
  })
  .openapi('EventAccepted');

const SIGNATURE_HELP =
  'Standard Webhooks: webhook-signature is one or more space-separated "v1,<base64 HMAC-SHA256>" over ' +
  '"<webhook-id>.<webhook-timestamp>.<raw body>", keyed by the base64-decoded part of an EVENTS_SECRET ' +
  `whsec_ secret; webhook-timestamp (Unix seconds) must be within ${TOLERANCE_SECONDS} s of the server's clock.`;

export function eventRoutes(deps: AppDependencies): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  const verifier = createSignatureVerifier(deps.config.EVENTS_SECRET);
  document(app);

  app.post('/', webhookBody(), async (c) => {
    const verified = verifySignature(c, verifier, deps);
    const envelope = readEnvelope(verified.body);
    const { route, start } = routeOf(envelope);
    const event: RoutedEvent = {
      eventId: envelope.event_id,
      eventType: envelope.event_type,
      source: envelope.source,
      traceId: envelope.trace_id ?? traceIdFromTraceparent(c.req.header('traceparent')),
    };
    const run = await start(deps, event).catch((err: unknown) => {
      if (err instanceof EventRejectedError) throw new HttpError(422, err.code, err.message);
      throw err;
    });
    deps.log.info(
      { requestId: c.get('requestId'), webhookId: verified.webhookId, ...event, pipeline: route.pipeline, workflowId: run.workflowId, runId: run.runId },
      run.duplicate ? 'duplicate event' : 'event started a run',
    );
    deps.metrics?.runStart(route.pipeline, 'events', run.duplicate);
    return c.json({ eventId: event.eventId, eventType: event.eventType, pipeline: route.pipeline, ...run }, 202);
  });

  return app;
}

/** The signature over the raw bytes, or a 401 that says nothing about which check failed. */
function verifySignature(c: Context<AppEnv & WebhookBodyEnv>, verifier: SignatureVerifier, deps: Pick<AppDependencies, 'log'>) {
  const headers = { id: c.req.header('webhook-id'), timestamp: c.req.header('webhook-timestamp'), signature: c.req.header('webhook-signature') };
  const verified = verifier.verify(headers, c.var.webhookBody.bytes);
  if (verified.ok) return verified;
  deps.log.warn(
    { requestId: c.get('requestId'), reason: verified.reason, detail: verified.detail, webhookId: c.req.header('webhook-id')?.slice(0, 200) },
    'event signature rejected',
  );
  // One answer for every reason: the caller learns nothing about which check failed.
  throw new HttpError(401, 'invalid_signature', 'the webhook signature is missing, malformed, expired or does not match');
}

/**
 * The text the signature was checked on, as an envelope (400 invalid_json, invalid_event). It is
 * the verifier's strict UTF-8 decoding, not WebhookBody.text(): a leading BOM stays, and is not JSON.
 */
function readEnvelope(verifiedText: string): Envelope {
  const parsed = EventEnvelope.safeParse(parseWebhookJson(verifiedText));
  if (!parsed.success) throw new HttpError(400, 'invalid_event', zodMessage(parsed.error));
  return parsed.data;
}

/** The route of the event's type, and the start of its run with the validated payload (422 otherwise). */
function routeOf(envelope: Envelope) {
  const route = EVENT_ROUTES.get(envelope.event_type);
  if (!route) throw new HttpError(422, 'unknown_event_type', `no pipeline handles event_type ${JSON.stringify(envelope.event_type)}`);
  const accepted = route.accept(envelope.payload);
  if (!accepted.success) throw new HttpError(422, 'invalid_payload', `${envelope.event_type}: ${zodMessage(accepted.error)}`);
  return { route, start: accepted.start };
}

function document(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'webhookSignature', {
    type: 'apiKey',
    in: 'header',
    name: 'webhook-signature',
    description: SIGNATURE_HELP,
  });
  app.openAPIRegistry.registerPath({
    method: 'post',
    path: '/',
    tags: tags('events'),
    summary: 'Accept a signed event and start the pipeline its event_type routes to',
    description: `Routed event types: ${[...EVENT_ROUTES].map(([type, r]) => `${type} → ${r.pipeline}`).join(', ')}.`,
    security: [{ webhookSignature: [] }],
    request: {
      headers: z.object({
        'webhook-id': z.string().openapi({ description: 'the message id, signed with the body' }),
        'webhook-timestamp': z.string().openapi({ description: 'Unix seconds', example: '1735646400' }),
        'webhook-signature': z.string().openapi({ description: SIGNATURE_HELP }),
        traceparent: z.string().optional().openapi({ description: 'W3C Trace Context, used when the event has no trace_id' }),
      }),
      body: jsonBody(EventEnvelope),
    },
    responses: {
      202: json(EventAccepted, 'the run was started, or already existed for this event'),
      400: errorResponse('invalid_json or invalid_event (the envelope)'),
      401: errorResponse('invalid_signature: missing, malformed, stale or non-matching signature'),
      413: errorResponse(`payload_too_large: bodies are limited to ${MAX_EVENT_BYTES} bytes`),
      422: errorResponse('unknown_event_type, invalid_payload, or object_not_found'),
    },
  });
}
