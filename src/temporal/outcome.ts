import { type Client, isGrpcCancelledError, WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure, TerminatedFailure, TimeoutFailure } from '@temporalio/common';
import { describeFailure, type RunFailure } from './runs.js';

export type RunOutcome =
  | { kind: 'completed'; result: unknown }
  | { kind: 'failed'; status: 'FAILED' | 'CANCELLED' | 'TERMINATED' | 'TIMED_OUT'; failure: RunFailure }
  /** Still running when the wait ended. */
  | { kind: 'pending' };

/**
 * Waits up to `timeoutMs` for a run's result (following continue-as-new), without polling: the
 * SDK long-polls the history for the close event. `signal` ends the wait early (the caller left).
 */
export async function awaitOutcome(
  client: Client,
  workflowId: string,
  runId: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<RunOutcome> {
  const handle = client.workflow.getHandle(workflowId, runId);
  const stop = signal ? AbortSignal.any([AbortSignal.timeout(timeoutMs), signal]) : AbortSignal.timeout(timeoutMs);
  try {
    const result: unknown = await client.withAbortSignal(stop, () => handle.result());
    return { kind: 'completed', result };
  } catch (err) {
    if (err instanceof WorkflowFailedError) return { kind: 'failed', status: closeStatus(err), failure: describeFailure(err) };
    if (stop.aborted && (isGrpcCancelledError(err) || isAbort(err))) return { kind: 'pending' };
    throw err;
  }
}

function closeStatus(err: WorkflowFailedError): 'FAILED' | 'CANCELLED' | 'TERMINATED' | 'TIMED_OUT' {
  if (err.cause instanceof TerminatedFailure) return 'TERMINATED';
  if (err.cause instanceof CancelledFailure) return 'CANCELLED';
  if (err.cause instanceof TimeoutFailure) return 'TIMED_OUT';
  return 'FAILED';
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError');
}
