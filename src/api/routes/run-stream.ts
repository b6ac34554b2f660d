/**
 * GET /api/v1/workflows/{id}/stream: server-sent events with a run's stage and progress until it
 * closes, fed by the shared run watchers (RunWatchHub).
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import { type RunWatchHub, StreamRefusedError } from '../../temporal/run-watch.js';
import { HttpError } from '../errors.js';
import { errorResponse, OPERATOR_SECURITY, tags, unauthorizedResponse } from '../openapi.js';
import type { AppEnv } from '../types.js';

// What a refused client is told to wait: long enough for streams to close or an instance to start.
const RETRY_AFTER_SECONDS = 5;

const EXAMPLE = [
  'event: progress',
  'data: {"workflowId":"ingest:uploads/a.pdf@3f2c","runId":"0195…","status":"RUNNING","stage":"extracting","progress":0.4,"currentStep":{"name":"extract","attempt":1,"lastFailure":null}}',
  '',
  'event: close',
  'data: {"workflowId":"ingest:uploads/a.pdf@3f2c","runId":"0195…","status":"COMPLETED","stage":"completed","progress":1,"result":{},"failure":null,"closeTime":"2026-01-01T12:00:03.000Z"}',
  '',
].join('\n');

const streamRoute = createRoute({
  method: 'get',
  path: '/{id}/stream',
  tags: tags('runs'),
  summary: 'Server-sent events: stage and progress changes of the latest run until it closes',
  security: OPERATOR_SECURITY,
  description:
    '`event: progress` on every change of status, stage, progress or current step; then one `event: close` with the result or failure, and the stream ends. ' +
    'A run that is already closed answers with its `close` event at once. Continue-as-new is followed to the new run. ' +
    'A comment line (`: keep-alive`) is sent every 15 s. `event: error` (then the end) if the run can no longer be followed.',
  request: { params: z.object({ id: z.string().min(1).max(1000).openapi({ description: 'workflow id, URL-encoded as one path segment' }) }) },
  responses: {
    200: { description: 'the event stream', content: { 'text/event-stream': { schema: z.string().openapi({ example: EXAMPLE }) } } },
    ...unauthorizedResponse,
    404: errorResponse('no such workflow'),
    503: errorResponse('too many open streams on this instance, or shutting down; see Retry-After'),
  },
});

export function runStreamRoutes(hub: RunWatchHub): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(streamRoute, async (c) => {
    const { id } = c.req.valid('param');
    // Subscribing before the stream starts lets an unknown id or a full house still get a status code.
    const sub = await hub.subscribe(id).catch((err: unknown) => {
      if (!(err instanceof StreamRefusedError)) throw err;
      c.header('Retry-After', String(RETRY_AFTER_SECONDS));
      throw new HttpError(503, err.code, err.message);
    });
    // Reverse proxies (nginx) must pass events through as they come, not buffer them.
    c.header('X-Accel-Buffering', 'no');
    return streamSSE(c, async (stream) => {
      stream.onAbort(() => sub.close());
      const keepAlive = setInterval(() => void stream.write(': keep-alive\n\n'), hub.keepAliveMs);
      try {
        for await (const event of sub) await stream.writeSSE({ event: event.type, data: JSON.stringify(event.data) });
      } finally {
        clearInterval(keepAlive);
        sub.close();
      }
    });
  });

  return app;
}
