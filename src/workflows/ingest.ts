import {
  ActivityCancellationType,
  CancellationScope,
  defineQuery,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { IngestActivities } from '../activities/ingest.js';
import type { ObjectRef } from '../s3-events/parse.js';
import { type IngestStage, STAGE_START } from './ingest-stages.js';
import { DB_WRITE, HOUSEKEEPING } from './activity-options.js';
import { STAGE } from './search-attributes.js';

export type { IngestStage };

/** One stored object, as named by its S3 event notification or an API call. */
export type IngestInput = ObjectRef;


export interface IngestProgress {
  stage: IngestStage;
  /** 0..1, by stage: the transfer and the analysis dominate a run's time. */
  progress: number;
}

export interface IngestResult extends IngestProgress {
  assetId: string;
  created: boolean;
  bucket: string;
  key: string;
  version: string;
  sha256: string;
  sizeBytes: number;
  format: string;
  language: string;
  keywords: string[];
  summary: string;
  textChars: number;
  chunks: number;
}

export const progressQuery = defineQuery<IngestProgress>('progress');

// Activity option profiles, named by what the step does. Failures that retrying cannot fix are
// thrown as non-retryable ApplicationFailures by the activities themselves.
// On cancellation each step is waited for until it has really stopped, so the cleanup that follows
// cannot race a step still writing intermediate files.
const WAIT = ActivityCancellationType.WAIT_CANCELLATION_COMPLETED;

/** Streams a possibly large object from S3: long, heartbeating, patient with outages. */
const longTransfer = proxyActivities<IngestActivities>({
  startToCloseTimeout: '2 hours',
  cancellationType: WAIT,
  heartbeatTimeout: '30 seconds',
  scheduleToCloseTimeout: '6 hours',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/**
 * CPU-bound parsing of the downloaded file, which then writes the text to the work bucket. A file
 * that cannot be parsed fails non-retryably; what is retried is the storage around it, so the
 * step waits out an S3 outage like the download does (a limit of attempts would not).
 */
const parseContent = proxyActivities<IngestActivities>({
  startToCloseTimeout: '20 minutes',
  cancellationType: WAIT,
  heartbeatTimeout: '1 minute',
  scheduleToCloseTimeout: '2 hours',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/** The AI provider: may rate-limit (429) or be briefly down; back off further. */
const aiCall = proxyActivities<IngestActivities>({
  startToCloseTimeout: '15 minutes',
  cancellationType: WAIT,
  heartbeatTimeout: '1 minute',
  scheduleToCloseTimeout: '2 hours',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

const dbWrite = proxyActivities<IngestActivities>(DB_WRITE);

const housekeeping = proxyActivities<IngestActivities>(HOUSEKEEPING);

/**
 * Failed runs keep their intermediate products, so that a retry (a Temporal reset to the failed
 * step) finds what the earlier steps wrote; the work bucket's lifecycle rule expires what is
 * never retried. Runs recorded before this change cleaned up on failure too.
 */
const KEEP_WORK_ON_FAILURE = 'keep-work-on-failure';

/**
 * ingest: one stored object becomes an analysed asset in Postgres.
 * download → extract → analyse → persist; intermediate products travel as S3 keys in the work
 * bucket (claim-check). They are removed when the run completes or is cancelled.
 */
export async function ingest(input: IngestInput): Promise<IngestResult> {
  let state: IngestProgress = { stage: 'downloading', progress: 0 };
  setHandler(progressQuery, () => state);
  const enter = (stage: IngestStage): void => {
    state = { stage, progress: STAGE_START[stage] };
    upsertSearchAttributes([{ key: STAGE, value: stage }]);
  };

  // The original run id survives a reset, so a retried run finds the files of the steps it does
  // not repeat.
  const workPrefix = `ingest/${workflowInfo().originalExecutionRunId}/`;
  let keepWork = false;
  try {
    enter('downloading');
    const file = await longTransfer.download(input);

    enter('extracting');
    const content = await parseContent.extract({ object: input, file, workPrefix });

    enter('analysing');
    const analysis = await aiCall.analyse({ textKey: content.textKey, workPrefix });

    enter('persisting');
    const asset = await dbWrite.persist({ object: input, file, content, analysis });

    enter('completed');
    return {
      ...state,
      assetId: asset.id,
      created: asset.created,
      bucket: input.bucket,
      key: input.key,
      version: file.version,
      sha256: file.sha256,
      sizeBytes: file.sizeBytes,
      format: content.format,
      language: analysis.language,
      keywords: analysis.keywords,
      summary: analysis.summary,
      textChars: content.textChars,
      chunks: analysis.chunkCount,
    };
  } catch (err) {
    keepWork = !isCancellation(err) && patched(KEEP_WORK_ON_FAILURE);
    throw err;
  } finally {
    // nonCancellable, so a cancelled run still gets to clean up after itself.
    if (!keepWork) await CancellationScope.nonCancellable(() => housekeeping.cleanup({ workPrefix }));
  }
}
