/**
 * GET /healthz (liveness) and GET /readyz (readiness: Temporal, Postgres and S3 reachable);
 * unauthenticated, for probes.
 */
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { errorBody, requestIdOf } from '../errors.js';
import { ErrorSchema, json, tags } from '../openapi.js';
import type { ReadinessCheck } from '../types.js';

const CHECK_TIMEOUT_MS = 2_000;

export function healthRoutes(checks: Record<string, ReadinessCheck>): OpenAPIHono {
  const app = new OpenAPIHono();
  document(app);

  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  app.get('/readyz', async (c) => {
    const results: Array<readonly [string, { ok: boolean; error?: string }]> = await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        const signal = AbortSignal.timeout(CHECK_TIMEOUT_MS);
        try {
          await Promise.race<unknown>([
            check(signal),
            new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('timed out')))),
          ]);
          return [name, { ok: true }] as const;
        } catch (err) {
          return [name, { ok: false, error: err instanceof Error ? err.message : String(err) }] as const;
        }
      }),
    );
    const failing = results.filter(([, r]) => !r.ok).map(([name, r]) => `${name}: ${r.error ?? 'failed'}`);
    const checked = Object.fromEntries(results);
    if (failing.length === 0) return c.json({ status: 'ready', checks: checked });
    return c.json({ ...errorBody(requestIdOf(c), 'not_ready', `not reachable: ${failing.join('; ')}`), checks: checked }, 503);
  });

  return app;
}

function document(app: OpenAPIHono): void {
  const Checks = z.record(z.string(), z.object({ ok: z.boolean(), error: z.string().optional() }));
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/healthz',
    tags: tags('health'),
    summary: 'Liveness: the process answers',
    responses: { 200: json(z.object({ status: z.literal('ok') }), 'alive') },
  });
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/readyz',
    tags: tags('health'),
    summary: 'Readiness: Temporal, Postgres and S3 reachable',
    responses: {
      200: json(z.object({ status: z.literal('ready'), checks: Checks }), 'ready'),
      503: json(ErrorSchema.extend({ checks: Checks }), 'a dependency is not reachable'),
    },
  });
}
