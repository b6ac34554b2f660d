import { ActivityCancellationType, type ActivityOptions } from '@temporalio/workflow';

/**
 * Activity option profiles shared by the pipelines, named by what the step does. On cancellation
 * a step is waited for until it has really stopped, so the cleanup that follows cannot race it.
 */

/** One short database transaction (or a HEAD); Postgres restarts are ridden out by retries. */
export const SHORT_DB: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  scheduleToCloseTimeout: '1 hour',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
};

/**
 * A database write that may wait on locks or a large transaction: as SHORT_DB, but the activity
 * heartbeats while it works (keepHeartbeating), so a worker that dies mid-write is noticed within
 * the heartbeat timeout and the write retried elsewhere, instead of after the 2-minute limit.
 */
export const DB_WRITE: ActivityOptions = { ...SHORT_DB, heartbeatTimeout: '20 seconds' };

/** Removing intermediate products or an unfinished load: idempotent, must eventually succeed. */
export const HOUSEKEEPING: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  scheduleToCloseTimeout: '1 hour',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
};
