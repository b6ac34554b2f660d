/**
 * `?wait=` on a start: waiting for the run's outcome, and the answer each outcome gets.
 */
import type { Client } from '@temporalio/client';
import { awaitOutcome, type RunOutcome } from '../temporal/outcome.js';
import type { RunFailure, StartedRun } from '../temporal/runs.js';
import type { ErrorCode } from './error-codes.js';
import { type ErrorBody, errorBody } from './errors.js';

/** Longer waits belong on the stream: proxies and load balancers cut idle requests at about 60 s. */
export const MAX_WAIT_MS = 5 * 60_000;

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000 } as const;

/** `30s`, `1500ms`, `2m` (the schema has checked the form), capped at MAX_WAIT_MS. */
export function parseWait(text: string): number {
  const match = /^(\d+)(ms|s|m)$/.exec(text);
  if (!match) throw new Error(`not a wait duration: ${text}`);
  return Math.min(MAX_WAIT_MS, Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]);
}

type EndStatus = Extract<RunOutcome, { kind: 'failed' }>['status'];

/** A run that ended without a result: the status and code it answers a wait with. */
const ENDED = {
  FAILED: { status: 422, code: 'run_failed' },
  CANCELLED: { status: 409, code: 'run_cancelled' },
  TERMINATED: { status: 409, code: 'run_terminated' },
  TIMED_OUT: { status: 504, code: 'run_timed_out' },
} as const satisfies Record<EndStatus, { status: 409 | 422 | 504; code: ErrorCode }>;

/** What a wait answers, by status. */
export type WaitAnswer =
  | { status: 200; body: StartedRun & { status: 'COMPLETED'; result: unknown } }
  | { status: 408; body: ErrorBody & { workflowId: string; runId: string; statusUrl: string; streamUrl: string } }
  | { status: (typeof ENDED)[EndStatus]['status']; body: ErrorBody & { workflowId: string; runId: string; status: EndStatus; failure: RunFailure } };

export interface WaitRequest {
  requestId: string;
  /** The caller's request: the wait ends when the caller leaves. */
  signal: AbortSignal;
  timeoutMs: number;
}

/**
 * The run's result as the answer (200), or where to look when it is not done in time (408). A
 * run that ended otherwise answers with its failure and a status that says what happened: 422
 * failed, 409 cancelled or terminated, 504 timed out.
 */
export async function waitForOutcome(temporal: Client, run: StartedRun, wait: WaitRequest): Promise<WaitAnswer> {
  const outcome = await awaitOutcome(temporal, run.workflowId, run.runId, wait.timeoutMs, wait.signal);
  if (outcome.kind === 'completed') return { status: 200, body: { ...run, status: 'COMPLETED', result: outcome.result } };

  const path = `/api/v1/workflows/${encodeURIComponent(run.workflowId)}`;
  if (outcome.kind === 'pending') {
    const message = `the run is still running after ${wait.timeoutMs} ms; poll GET ${path} or follow GET ${path}/stream`;
    return {
      status: 408,
      body: { ...errorBody(wait.requestId, 'wait_timeout', message), workflowId: run.workflowId, runId: run.runId, statusUrl: path, streamUrl: `${path}/stream` },
    };
  }
  const { status, code } = ENDED[outcome.status];
  return {
    status,
    body: { ...errorBody(wait.requestId, code, outcome.failure.message), workflowId: run.workflowId, runId: run.runId, status: outcome.status, failure: outcome.failure },
  };
}
