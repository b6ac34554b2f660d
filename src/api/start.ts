import type { Context } from 'hono';
import { keyedWorkflowId, type Pipeline, type RunMemo } from '../contracts/common.js';
import type { StartedRun } from '../temporal/runs.js';
import type { AppDependencies, AppEnv } from './app.js';
import { fingerprint } from '../support/fingerprint.js';
import { findKeyedRun } from './idempotency.js';
import { traceIdFromTraceparent } from './trace.js';
import { parseWait, waitForOutcome } from './wait.js';

export interface StartRequest {
  pipeline: Pipeline;
  /** The validated body: with an Idempotency-Key, its fingerprint must match the first request's. */
  body: unknown;
  idempotencyKey: string | undefined;
  traceparent: string | undefined;
  wait: string | undefined;
  /** Starts (or finds) the run; `workflowId` is set when the key names the run. */
  start(options: { workflowId?: string; memo: RunMemo }): Promise<StartedRun>;
}

/**
 * What every `POST /api/v1/workflows/{pipeline}` shares: the Idempotency-Key (the key names the
 * run, the memo keeps the request's fingerprint), the traceparent's trace id in the memo, the log
 * line, and `?wait=`.
 */
export async function handleStart(c: Context<AppEnv>, deps: Pick<AppDependencies, 'temporal' | 'log' | 'metrics'>, request: StartRequest): Promise<Response> {
  const traceId = traceIdFromTraceparent(request.traceparent);
  const key = request.idempotencyKey;
  const workflowId = key === undefined ? undefined : keyedWorkflowId(request.pipeline, key);
  const requestHash = key === undefined ? undefined : fingerprint(request.body);

  // A keyed request seen before answers with its run, even if what it names has changed since.
  let run = workflowId && requestHash ? await findKeyedRun(deps.temporal, workflowId, requestHash) : undefined;
  if (!run) {
    run = await request.start({ workflowId, memo: { traceId, requestHash } });
    // Two keyed requests raced: the loser must still match the winner's request.
    if (run.duplicate && workflowId && requestHash) run = (await findKeyedRun(deps.temporal, workflowId, requestHash)) ?? run;
  }
  deps.log.info({ requestId: c.get('requestId'), traceId, pipeline: request.pipeline, ...run }, run.duplicate ? 'run already started' : 'run started');
  deps.metrics?.runStart(request.pipeline, 'api', run.duplicate);

  if (request.wait === undefined) return c.json(run, 202);
  return waitForOutcome(c, deps, run, parseWait(request.wait));
}
