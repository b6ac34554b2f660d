import {
  ApplicationFailure,
  CancellationScope,
  ContinueAsNew,
  continueAsNew,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ObjectifyActivities } from '../activities/objectify.js';
import { STAGE } from '../contracts/common.js';
import {
  type LoadCursor,
  type ObjectifyInput,
  type ObjectifyProgress,
  objectifyProgressQuery,
  type ObjectifyResult,
  type ObjectifyStage,
} from '../contracts/objectify.js';
import { failure } from '../contracts/failures.js';
import { DISCARD_LOAD, LOAD_ROWS, PREPARE_LOAD, PUBLISH_LOAD } from './activity-options.js';

const { prepareLoad } = proxyActivities<ObjectifyActivities>(PREPARE_LOAD);
const { loadRows } = proxyActivities<ObjectifyActivities>(LOAD_ROWS);
const { publishLoad } = proxyActivities<ObjectifyActivities>(PUBLISH_LOAD);
const { discardLoad } = proxyActivities<ObjectifyActivities>(DISCARD_LOAD);

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
  setHandler(objectifyProgressQuery, () => progress);
  const enter = (stage: ObjectifyStage): void => {
    progress = { ...progress, stage };
    upsertSearchAttributes([{ key: STAGE, value: stage }]);
  };

  try {
    if (!cursor) {
      enter('preparing');
      const prepared = await prepareLoad({ dataset: input.dataset, mappingId: input.mappingId, workflowId: workflowInfo().workflowId });
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
      cursor = await loadRows({ cursor, dataset: input.dataset, mappingId: input.mappingId, batchRows: input.batchRows, maxBatches });
      progress = progressOf('loading', cursor);
    }

    if (cursor.rowsRead > 0 && cursor.rowsRejected / cursor.rowsRead > input.maxRejectRatio) {
      // The load's rejects are discarded with it, so the failure itself says why rows were rejected.
      const first = cursor.firstRejects ?? [];
      const reasons = first.length > 0 ? `; first rejected: ${first.map((r) => `row ${r.rowNumber}: ${r.reason}`).join('; ')}` : '';
      throw ApplicationFailure.nonRetryable(
        `${cursor.rowsRejected} of ${cursor.rowsRead} rows rejected (${pct(cursor.rowsRejected / cursor.rowsRead)}), above maxRejectRatio ${pct(input.maxRejectRatio)}; nothing was published${reasons}`,
        failure.TooManyRejects,
        { rowsRead: cursor.rowsRead, rowsRejected: cursor.rowsRejected, firstRejects: first },
      );
    }

    enter('publishing');
    const counts = await publishLoad({ loadId: cursor.loadId, rowsRead: cursor.rowsRead });
    enter('completed');
    progress = { ...progress, progress: 1 };
    return { ...progress, rowsRejected: counts.rowsRejected, loadId: cursor.loadId, datasetVersionId: cursor.datasetVersionId, objectType: cursor.objectType, objects: counts.objects, alreadyPublished: false };
  } catch (err) {
    // Continue-as-new is not an ending: the next run goes on with this load.
    if (cursor && !(err instanceof ContinueAsNew)) {
      const loadId = cursor.loadId;
      await CancellationScope.nonCancellable(() => discardLoad({ loadId }));
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
