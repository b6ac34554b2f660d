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

/** Removing intermediate products or an unfinished load: idempotent, must eventually succeed. */
export const HOUSEKEEPING: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  scheduleToCloseTimeout: '1 hour',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
};
