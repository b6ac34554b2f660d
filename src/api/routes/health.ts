import { OpenAPIHono, z } from '@hono/zod-openapi';
import { errorBody } from '../errors.js';
import { ErrorSchema } from '../schemas.js';

/** Resolves when the dependency answers; rejects (or times out) when it does not. */
export type ReadinessCheck = (signal: AbortSignal) => Promise<unknown>;

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
    return c.json({ ...errorBody(c, 'not_ready', `not reachable: ${failing.join('; ')}`), checks: checked }, 503);
  });

  return app;
}

function document(app: OpenAPIHono): void {
  const Checks = z.record(z.string(), z.object({ ok: z.boolean(), error: z.string().optional() }));
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/healthz',
    summary: 'Liveness: the process answers',
    responses: { 200: { description: 'alive', content: { 'application/json': { schema: z.object({ status: z.literal('ok') }) } } } },
  });
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/readyz',
    summary: 'Readiness: Temporal, Postgres and S3 reachable',
    responses: {
      200: { description: 'ready', content: { 'application/json': { schema: z.object({ status: z.literal('ready'), checks: Checks }) } } },
      503: { description: 'a dependency is not reachable', content: { 'application/json': { schema: ErrorSchema.extend({ checks: Checks }) } } },
    },
  });
}
