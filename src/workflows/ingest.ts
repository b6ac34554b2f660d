import {
  CancellationScope,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { IngestActivities } from '../activities/ingest.js';
import { STAGE } from '../contracts/common.js';
import { INGEST_STAGE_START, type IngestInput, type IngestProgress, ingestProgressQuery, type IngestResult, type IngestStage } from '../contracts/ingest.js';
import { ANALYSE, CLEANUP, DOWNLOAD, EXTRACT, PERSIST } from './activity-options.js';

// Each step with its own profile (activity-options.ts): timeouts, heartbeats and retries.
const { download } = proxyActivities<IngestActivities>(DOWNLOAD);
const { extract } = proxyActivities<IngestActivities>(EXTRACT);
const { analyse } = proxyActivities<IngestActivities>(ANALYSE);
const { persist } = proxyActivities<IngestActivities>(PERSIST);
const { cleanup } = proxyActivities<IngestActivities>(CLEANUP);

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
  setHandler(ingestProgressQuery, () => state);
  const enter = (stage: IngestStage): void => {
    state = { stage, progress: INGEST_STAGE_START[stage] };
    upsertSearchAttributes([{ key: STAGE, value: stage }]);
  };

  // The original run id survives a reset, so a retried run finds the files of the steps it does
  // not repeat.
  const workPrefix = `ingest/${workflowInfo().originalExecutionRunId}/`;
  let keepWork = false;
  try {
    enter('downloading');
    const file = await download(input);

    enter('extracting');
    const content = await extract({ object: input, file, workPrefix });

    enter('analysing');
    const analysis = await analyse({ textKey: content.textKey, workPrefix });

    enter('persisting');
    const asset = await persist({ object: input, file, content, analysis });

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
    if (!keepWork) await CancellationScope.nonCancellable(() => cleanup({ workPrefix }));
  }
}
