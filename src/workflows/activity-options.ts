import { ActivityCancellationType, type ActivityOptions } from '@temporalio/workflow';

/**
 * Every activity option profile of the pipelines, named by the step it serves: its timeouts,
 * heartbeat and retry policy. Failures that retrying cannot fix are thrown non-retryable by the
 * activities themselves (src/contracts/failures.ts); everything else is retried by these policies.
 * On cancellation a step is waited for until it has really stopped, so the cleanup that follows
 * cannot race a step still writing.
 */

const WAIT = ActivityCancellationType.WAIT_CANCELLATION_COMPLETED;

/** One short database transaction (or a HEAD); Postgres restarts are ridden out by retries. */
const SHORT_DB: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  scheduleToCloseTimeout: '1 hour',
  cancellationType: WAIT,
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
};

/** Removing intermediate products or an unfinished load: idempotent, must eventually succeed. */
const HOUSEKEEPING: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  scheduleToCloseTimeout: '1 hour',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
};

// ingest

/** download: streams a possibly large object from S3; long, heartbeating, patient with outages. */
export const DOWNLOAD: ActivityOptions = {
  startToCloseTimeout: '2 hours',
  cancellationType: WAIT,
  heartbeatTimeout: '30 seconds',
  scheduleToCloseTimeout: '6 hours',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
};

/**
 * extract: CPU-bound parsing of the downloaded file, which then writes the text to the work
 * bucket. A file that cannot be parsed fails non-retryably; what is retried is the storage around
 * it, so the step waits out an S3 outage like the download does (a limit of attempts would not).
 */
export const EXTRACT: ActivityOptions = {
  startToCloseTimeout: '20 minutes',
  cancellationType: WAIT,
  heartbeatTimeout: '1 minute',
  scheduleToCloseTimeout: '2 hours',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute' },
};

/** analyse: the AI provider may rate-limit (429) or be briefly down; back off further. */
export const ANALYSE: ActivityOptions = {
  startToCloseTimeout: '15 minutes',
  cancellationType: WAIT,
  heartbeatTimeout: '1 minute',
  scheduleToCloseTimeout: '2 hours',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes' },
};

/**
 * describeWindow, combineWindows, embedChunks: one model call each (two with a repair), on the AI
 * task queue (the workflow adds it). A 429 or 503 is retried after the delay the endpoint asks for
 * (nextRetryDelay), anything else transient with this backoff; refusals fail at once. The call's
 * own timeout is AI_REQUEST_TIMEOUT_SECONDS; heartbeats (every 5 s) notice a dead worker within 20 s. A
 * run whose endpoint stays rate-limited gives up after six hours.
 */
export const MODEL_CALL: ActivityOptions = {
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '20 seconds',
  scheduleToCloseTimeout: '6 hours',
  cancellationType: WAIT,
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes' },
};

/**
 * persist: a database write that may wait on locks or a large transaction. The activity
 * heartbeats while it works (keepHeartbeating), so a worker that dies mid-write is noticed within
 * the heartbeat timeout and the write retried elsewhere, instead of after the 2-minute limit.
 */
export const PERSIST: ActivityOptions = { ...SHORT_DB, heartbeatTimeout: '20 seconds' };

/** cleanup: removes the run's intermediate objects and temp files. */
export const CLEANUP = HOUSEKEEPING;

// objectify

/** prepareLoad and publishLoad: one short transaction each. */
export const PREPARE_LOAD = SHORT_DB;
export const PUBLISH_LOAD = SHORT_DB;

/**
 * loadRows: streams batches of rows into Postgres, heartbeating its cursor so a retry resumes
 * there. It heartbeats every few seconds even inside a slow batch: a dead worker is noticed and
 * its work handed to another within the heartbeat timeout.
 */
export const LOAD_ROWS: ActivityOptions = {
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '20 seconds',
  scheduleToCloseTimeout: '12 hours',
  cancellationType: WAIT,
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
};

/** discardLoad: removes an unfinished load's objects and rejects. */
export const DISCARD_LOAD = HOUSEKEEPING;

// connector-sync

/** loadConnector, recordSync, takeS3Objects: the connector's own rows, one short transaction each. */
export const CONNECTOR_STATE = SHORT_DB;

/** checkHttpCsv, listS3Changes: talk to the source; a few quick retries, then the sync fails visibly and the cursor stays. */
export const SOURCE_CHECK: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 4 },
};
