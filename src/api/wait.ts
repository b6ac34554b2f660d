import type { Context } from 'hono';
import { awaitOutcome } from '../temporal/outcome.js';
import type { StartedRun } from '../temporal/runs.js';
import type { AppDependencies, AppEnv } from './app.js';
import { errorBody } from './errors.js';

/** Longer waits belong on the stream: proxies and load balancers cut idle requests at about 60 s. */
export const MAX_WAIT_MS = 5 * 60_000;

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000 } as const;

/** `30s`, `1500ms`, `2m` (the schema has checked the form), capped at MAX_WAIT_MS. */
export function parseWait(text: string): number {
  const match = /^(\d+)(ms|s|m)$/.exec(text);
  if (!match) throw new Error(`not a wait duration: ${text}`);
  return Math.min(MAX_WAIT_MS, Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]);
}

/**
 * `?wait=`: the run's result as the answer (200), or where to look when it is not done in time
 * (408). A failed run answers with its failure and a status that says what happened: 422 failed,
 * 409 cancelled or terminated, 504 timed out.
 */
export async function waitForOutcome(c: Context<AppEnv>, deps: Pick<AppDependencies, 'temporal'>, run: StartedRun, timeoutMs: number): Promise<Response> {
  const outcome = await awaitOutcome(deps.temporal, run.workflowId, run.runId, timeoutMs, c.req.raw.signal);
  if (outcome.kind === 'completed') return c.json({ ...run, status: 'COMPLETED' as const, result: outcome.result }, 200);

  const path = `/api/v1/workflows/${encodeURIComponent(run.workflowId)}`;
  if (outcome.kind === 'pending') {
    return c.json(
      {
        ...errorBody(c, 'wait_timeout', `the run is still running after ${timeoutMs} ms; poll GET ${path} or follow GET ${path}/stream`),
        workflowId: run.workflowId,
        runId: run.runId,
        statusUrl: path,
        streamUrl: `${path}/stream`,
      },
      408,
    );
  }
  const status = outcome.status === 'FAILED' ? 422 : outcome.status === 'TIMED_OUT' ? 504 : 409;
  const code = `run_${outcome.status.toLowerCase()}`;
  return c.json(
    { ...errorBody(c, code, outcome.failure.message), workflowId: run.workflowId, runId: run.runId, status: outcome.status, failure: outcome.failure },
    status,
  );
}
