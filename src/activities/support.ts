import { createHash } from 'node:crypto';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { failure } from '../contracts/failures.js';
import { ObjectChangedError, ObjectNotFoundError } from '../storage/s3.js';

/** The workflow run an activity works for (activities here never run standalone). */
export function currentRun(): { workflowId: string; runId: string } {
  const execution = Context.current().info.workflowExecution;
  if (!execution) throw new Error('Harvester activities run only inside a workflow');
  return execution;
}

/** The scratch folder of one workflow run on this worker. */
export function runScratchDir(root: string, execution: { workflowId: string; runId: string }): string {
  // Workflow ids hold `/` and arbitrary unicode: hash them into a safe, bounded folder name.
  const id = createHash('sha256').update(execution.workflowId).digest('hex').slice(0, 24);
  return join(root, `${id}-${execution.runId}`);
}

/**
 * Heartbeats while a long step runs, so the server notices a dead worker within the heartbeat
 * timeout and a cancellation reaches the activity.
 */
export async function keepHeartbeating<T>(work: () => Promise<T>, everyMs = 5_000): Promise<T> {
  const ctx = Context.current();
  ctx.heartbeat();
  const timer = setInterval(() => ctx.heartbeat(), everyMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/**
 * After a cancellation, libraries throw their own abort errors; rethrowing the signal's reason
 * (a CancelledFailure) makes Temporal record the activity as cancelled rather than failed.
 */
export function rethrowIfCancelled(err: unknown, signal: AbortSignal): void {
  if (signal.aborted) throw signal.reason ?? err;
}

/**
 * An S3 error as the activity should throw it: a cancellation as the cancellation, a missing or
 * replaced object as a non-retryable failure, anything else as is (retried by Temporal).
 */
export function asStorageFailure(err: unknown, signal: AbortSignal): unknown {
  rethrowIfCancelled(err, signal);
  if (err instanceof ObjectNotFoundError) return ApplicationFailure.nonRetryable(err.message, failure.ObjectNotFound);
  if (err instanceof ObjectChangedError) return ApplicationFailure.nonRetryable(err.message, failure.ObjectChanged);
  return err;
}

/**
 * Removes run folders left by a worker that was killed mid-run; finished runs remove their own.
 * Returns how many were removed.
 */
export async function sweepScratch(root: string, olderThanMs: number, now = Date.now()): Promise<number> {
  const entries = await readdir(root, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  let removed = 0;
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const path = join(root, entry.name);
    const { mtimeMs } = await stat(path);
    if (now - mtimeMs > olderThanMs) {
      await rm(path, { recursive: true, force: true });
      removed++;
    }
  }
  return removed;
}
