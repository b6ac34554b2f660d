import { Hono } from 'hono';
import { errorBody } from '../errors.js';

/** Resolves when the dependency answers; rejects (or times out) when it does not. */
export type ReadinessCheck = (signal: AbortSignal) => Promise<unknown>;

const CHECK_TIMEOUT_MS = 2_000;

export function healthRoutes(checks: Record<string, ReadinessCheck>): Hono {
  const app = new Hono();

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
