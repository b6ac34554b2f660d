/**
 * What every `POST /api/v1/workflows/{pipeline}` shares: the Idempotency-Key, the trace id, the
 * log line, the metric and `?wait=`. handleStart answers with a status and a body; the route
 * sends them (answerStart), so each route's responses stay typed by its OpenAPI description.
 */
import type { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { keyedWorkflowId, type Pipeline, type RunMemo } from '../contracts/common.js';
import { fingerprint } from '../support/fingerprint.js';
import type { StartedRun } from '../temporal/runs.js';
import { findKeyedRun } from './idempotency.js';
import { traceIdFromTraceparent } from './trace.js';
import type { StartHeaders, StartQuery } from './routes/workflow-schemas.js';
import type { AppDependencies, AppEnv } from './types.js';
import { parseWait, type WaitAnswer, waitForOutcome } from './wait.js';

export interface StartRequest {
  pipeline: Pipeline;
  /** The validated body: with an Idempotency-Key, its fingerprint must match the first request's. */
  body: unknown;
  idempotencyKey: string | undefined;
  traceparent: string | undefined;
  wait: string | undefined;
  requestId: string;
  /** The caller's request: a wait ends when the caller leaves. */
  signal: AbortSignal;
  /** Starts (or finds) the run; `workflowId` is set when the key names the run. */
  start(options: { workflowId?: string; memo: RunMemo }): Promise<StartedRun>;
}

/** What a start reads off its request besides the body: the key, the traceparent, `?wait=`, the request id and its abort signal. */
export function startRequestOf(
  c: Context<AppEnv>,
  headers: z.output<typeof StartHeaders>,
  query: z.output<typeof StartQuery>,
): Pick<StartRequest, 'idempotencyKey' | 'traceparent' | 'wait' | 'requestId' | 'signal'> {
  return { idempotencyKey: headers['idempotency-key'], traceparent: headers.traceparent, wait: query.wait, requestId: c.get('requestId'), signal: c.req.raw.signal };
}

/** 202 with the run; with `?wait=`, what the wait answers. */
export type StartAnswer = { status: 202; body: StartedRun } | WaitAnswer;

/**
 * The key names the run and the memo keeps the request's fingerprint; the traceparent's trace id
 * goes into the memo too.
 */
export async function handleStart(deps: Pick<AppDependencies, 'temporal' | 'log' | 'metrics'>, request: StartRequest): Promise<StartAnswer> {
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
  deps.log.info({ requestId: request.requestId, traceId, pipeline: request.pipeline, ...run }, run.duplicate ? 'run already started' : 'run started');
  deps.metrics?.runStart(request.pipeline, 'api', run.duplicate);

  if (request.wait === undefined) return { status: 202, body: run };
  return waitForOutcome(deps.temporal, run, { requestId: request.requestId, signal: request.signal, timeoutMs: parseWait(request.wait) });
}

/** The answer as the route's response: one `c.json` per status, so each body is typed with its own. */
export function answerStart(c: Context, answer: StartAnswer) {
  switch (answer.status) {
    case 202:
      return c.json(answer.body, 202);
    case 200:
      return c.json(answer.body, 200);
    case 408:
      return c.json(answer.body, 408);
    default:
      return c.json(answer.body, answer.status);
  }
}
