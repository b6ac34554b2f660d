/**
 * Idempotency-Key support without a table of our own: a keyed request names its run after the key
 * (see keyedWorkflowId), and the run's memo keeps a fingerprint of the request that started it.
 */
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { StartedRun } from '../temporal/runs.js';
import { HttpError } from './errors.js';

/**
 * The run a key already names, or undefined if the key is new. The same key with a different
 * request is refused: answering with the first request's run would hide the caller's mistake.
 */
export async function findKeyedRun(client: Client, workflowId: string, requestHash: string): Promise<StartedRun | undefined> {
  let memo: Record<string, unknown> | undefined;
  let runId: string;
  try {
    const desc = await client.workflow.getHandle(workflowId).describe();
    memo = desc.memo;
    runId = desc.runId;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
  if (memo?.requestHash !== requestHash) {
    throw new HttpError(409, 'idempotency_key_reused', 'this Idempotency-Key was already used with a different request');
  }
  return { workflowId, runId, duplicate: true };
}
