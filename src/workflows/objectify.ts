import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  ContinueAsNew,
  continueAsNew,
  defineQuery,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { LoadCursor, ObjectifyActivities } from '../activities/objectify.js';
import { HOUSEKEEPING, SHORT_DB } from './activity-options.js';
import { STAGE } from './search-attributes.js';

/** A dataset version (one S3 object version) through one registered mapping spec. */
export interface ObjectifyInput {
  dataset: { bucket: string; key: string; versionId?: string; etag: string };
  mappingId: string;
  /** The run fails, publishing nothing, when more than this share of rows is rejected. */
  maxRejectRatio: number;
  /** Rows per database transaction. */
  batchRows: number;
  /** Set by continue-as-new: where the previous run of this chain stopped. */
  resume?: LoadCursor;
  /** How work is cut into activity calls and runs; the defaults suit production, tests shrink them. */
  limits?: { batchesPerCall?: number; callsPerRun?: number };
}

export type ObjectifyStage = 'preparing' | 'loading' | 'publishing' | 'completed';

export interface ObjectifyProgress {
  stage: ObjectifyStage;
  /** 0..1: the share of the file's bytes read, until publishing. */
  progress: number;
  rowsRead: number;
  rowsRejected: number;
  bytesRead: number;
  totalBytes: number;
}

export interface ObjectifyResult extends ObjectifyProgress {
  loadId: string;
  datasetVersionId: string;
  objectType: string;
  /** Distinct objects published (rows with the same key collapse into one). */
  objects: number;
  /** True when this dataset version and mapping had been published already: nothing was redone. */
  alreadyPublished: boolean;
}

export const progressQuery = defineQuery<ObjectifyProgress>('progress');

const WAIT = ActivityCancellationType.WAIT_CANCELLATION_COMPLETED;

const shortDb = proxyActivities<ObjectifyActivities>(SHORT_DB);

/** Streams batches of rows into Postgres; heartbeats its offset so a retry resumes there. */
const bulkLoad = proxyActivities<ObjectifyActivities>({
  startToCloseTimeout: '30 minutes',
  // The activity heartbeats every few seconds even inside a slow batch: a dead worker is noticed
  // and its work handed to another within this.
  heartbeatTimeout: '20 seconds',
  scheduleToCloseTimeout: '12 hours',
  cancellationType: WAIT,
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

const housekeeping = proxyActivities<ObjectifyActivities>(HOUSEKEEPING);

// Batches per loadRows call: a call is a few seconds of work, so the history grows slowly. A gzip
// file cannot be entered in the middle, so each call decompresses it again from the start: there
// one call goes much further (its heartbeats still let a retry resume at the last batch).
const BATCHES_PER_CALL = 20;
const GZIP_BATCHES_PER_CALL = 2_000;
// Continue-as-new after this many calls even if the server does not suggest it yet.
const CALLS_PER_RUN = 200;

/**
 * objectify: a dataset version becomes typed objects of one object type, published atomically.
 * prepare → load rows in batches (continue-as-new on long files) → check rejects → publish.
 * A failed or cancelled run removes its unpublished load; the previous version stays visible.
 */
export async function objectify(input: ObjectifyInput): Promise<ObjectifyResult> {
  let cursor = input.resume;
  let progress: ObjectifyProgress = cursor ? progressOf('loading', cursor) : { stage: 'preparing', progress: 0, rowsRead: 0, rowsRejected: 0, bytesRead: 0, totalBytes: 0 };
  setHandler(progressQuery, () => progress);
  const enter = (stage: ObjectifyStage): void => {
    progress = { ...progress, stage };
    upsertSearchAttributes([{ key: STAGE, value: stage }]);
  };

  try {
    if (!cursor) {
      enter('preparing');
      const prepared = await shortDb.prepareLoad({ dataset: input.dataset, mappingId: input.mappingId, workflowId: workflowInfo().workflowId });
      if (prepared.published) {
        enter('completed');
        const { published: p, cursor: c } = prepared;
        return { ...progress, stage: 'completed', progress: 1, rowsRead: p.rowsRead, rowsRejected: p.rowsRejected, bytesRead: c.sizeBytes, totalBytes: c.sizeBytes, loadId: c.loadId, datasetVersionId: c.datasetVersionId, objectType: c.objectType, objects: p.objects, alreadyPublished: true };
      }
      cursor = prepared.cursor;
      progress = progressOf('preparing', cursor);
      enter('loading');
    }

    const callsPerRun = input.limits?.callsPerRun ?? CALLS_PER_RUN;
    const maxBatches = input.limits?.batchesPerCall ?? (cursor.gzip ? GZIP_BATCHES_PER_CALL : BATCHES_PER_CALL);
    for (let calls = 0; !cursor.done; calls++) {
      if (calls >= callsPerRun || workflowInfo().continueAsNewSuggested) {
        await continueAsNew<typeof objectify>({ ...input, resume: cursor });
      }
      cursor = await bulkLoad.loadRows({ cursor, dataset: input.dataset, mappingId: input.mappingId, batchRows: input.batchRows, maxBatches });
      progress = progressOf('loading', cursor);
    }

    if (cursor.rowsRead > 0 && cursor.rowsRejected / cursor.rowsRead > input.maxRejectRatio) {
      // The load's rejects are discarded with it, so the failure itself says why rows were rejected.
      const first = cursor.firstRejects ?? [];
      const reasons = first.length > 0 ? `; first rejected: ${first.map((r) => `row ${r.rowNumber}: ${r.reason}`).join('; ')}` : '';
      throw ApplicationFailure.nonRetryable(
        `${cursor.rowsRejected} of ${cursor.rowsRead} rows rejected (${pct(cursor.rowsRejected / cursor.rowsRead)}), above maxRejectRatio ${pct(input.maxRejectRatio)}; nothing was published${reasons}`,
        'TooManyRejects',
        { rowsRead: cursor.rowsRead, rowsRejected: cursor.rowsRejected, firstRejects: first },
      );
    }

    enter('publishing');
    const counts = await shortDb.publishLoad({ loadId: cursor.loadId, rowsRead: cursor.rowsRead });
    enter('completed');
    progress = { ...progress, progress: 1 };
    return { ...progress, rowsRejected: counts.rowsRejected, loadId: cursor.loadId, datasetVersionId: cursor.datasetVersionId, objectType: cursor.objectType, objects: counts.objects, alreadyPublished: false };
  } catch (err) {
    // Continue-as-new is not an ending: the next run goes on with this load.
    if (cursor && !(err instanceof ContinueAsNew)) {
      const loadId = cursor.loadId;
      await CancellationScope.nonCancellable(() => housekeeping.discardLoad({ loadId }));
    }
    throw err;
  }
}

function progressOf(stage: ObjectifyStage, cursor: LoadCursor): ObjectifyProgress {
  const share = cursor.sizeBytes > 0 ? Math.min(1, cursor.bytesRead / cursor.sizeBytes) : 0;
  return { stage, progress: cursor.done ? 0.99 : share * 0.99, rowsRead: cursor.rowsRead, rowsRejected: cursor.rowsRejected, bytesRead: cursor.bytesRead, totalBytes: cursor.sizeBytes };
}

function pct(ratio: number): string {
  return `${(ratio * 100).toFixed(2)}%`;
}
