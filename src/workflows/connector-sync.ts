import {
  ApplicationFailure,
  CancellationScope,
  continueAsNew,
  executeChild,
  isCancellation,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { ConnectorActivities } from '../activities/connectors.js';
import { STAGE, startAttributes } from '../contracts/common.js';
import {
  type ConnectorSyncInput,
  type ConnectorSyncProgress,
  connectorSyncProgressQuery,
  type ConnectorSyncResult,
  type ConnectorSyncStage,
  type ConnectorSyncWorkflow,
  type S3SyncTotals,
} from '../contracts/connector-sync.js';
import { failure } from '../contracts/failures.js';
import { ingestWorkflow, type IngestWorkflow } from '../contracts/ingest.js';
import { DEFAULT_BATCH_ROWS, DEFAULT_MAX_REJECT_RATIO, objectifyWorkflow, type ObjectifyWorkflow } from '../contracts/objectify.js';
import { CONNECTOR_STATE, SOURCE_CHECK } from './activity-options.js';

// What the activities answer, as their type says.
type ConnectorPlan = Awaited<ReturnType<ConnectorActivities['loadConnector']>>;
type S3PageResult = Awaited<ReturnType<ConnectorActivities['listS3Changes']>>;
type S3Change = S3PageResult['changes'][number];
type S3PrefixConfig = Extract<ConnectorPlan, { kind: 's3-prefix' }>['config'];

// Ingest runs of one s3-prefix page run this many at a time.
const INGEST_PARALLELISM = 8;
// Objects per listing page: a page's changes travel in one activity result, far below 2 MB.
const PAGE_SIZE = 250;
// Pages per run before continue-as-new (each page can add a thousand events of child runs).
const PAGES_PER_RUN = 8;
// Keep results small: the counts are complete, the lists are samples.
const SAMPLE = 20;

const { loadConnector, recordSync, takeS3Objects } = proxyActivities<ConnectorActivities>(CONNECTOR_STATE);
const { checkHttpCsv, listS3Changes } = proxyActivities<ConnectorActivities>(SOURCE_CHECK);

/**
 * connector-sync: one poll of a connector's source, started by its Temporal Schedule (or "sync now").
 * http-csv: changed file → snapshot in S3 → objectify child → cursor moves.
 * s3-prefix: listing page by page → ingest children for new or changed objects (bounded
 * parallelism) → each succeeded object is recorded; failed ones are retried by the next sync.
 */
export async function connectorSync(input: ConnectorSyncInput): Promise<ConnectorSyncResult> {
  let progress: ConnectorSyncProgress = { stage: 'checking', listed: input.resume?.listed ?? 0, ingested: input.resume?.ingested ?? 0, failed: input.resume?.failed ?? 0 };
  setHandler(connectorSyncProgressQuery, () => progress);
  const enter = (stage: ConnectorSyncStage): void => {
    progress = { ...progress, stage };
    upsertSearchAttributes([{ key: STAGE, value: stage }]);
  };

  enter('checking');
  const plan = await loadConnector({ connectorId: input.connectorId });
  if (plan.kind === 'http-csv') return syncHttpCsv(input.connectorId, plan, enter);
  return syncS3Prefix(input, plan.config, enter, (p) => (progress = { ...progress, ...p }));
}

async function syncHttpCsv(connectorId: string, plan: Extract<ConnectorPlan, { kind: 'http-csv' }>, enter: (stage: ConnectorSyncStage) => void): Promise<ConnectorSyncResult> {
  const check = await checkHttpCsv({ connectorId, url: plan.config.url, mappingId: plan.mappingId });
  if (!check.changed) {
    enter('completed');
    return { kind: 'http-csv', changed: false, reason: check.reason };
  }

  enter('importing');
  const loaded = await executeChild<ObjectifyWorkflow>(objectifyWorkflow.workflowType, {
    workflowId: check.objectifyWorkflowId,
    args: [{ dataset: check.snapshot, mappingId: plan.mappingId, maxRejectRatio: DEFAULT_MAX_REJECT_RATIO, batchRows: DEFAULT_BATCH_ROWS }],
    parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
    typedSearchAttributes: startAttributes(objectifyWorkflow.pipeline, check.snapshot.bucket),
  });

  enter('recording');
  await recordSync({ connectorId, position: check.position, changed: true });
  enter('completed');
  return {
    kind: 'http-csv',
    changed: true,
    snapshot: `s3://${check.snapshot.bucket}/${check.snapshot.key}`,
    objectifyWorkflowId: check.objectifyWorkflowId,
    datasetVersionId: loaded.datasetVersionId,
    objects: loaded.objects,
    rowsRead: loaded.rowsRead,
    rowsRejected: loaded.rowsRejected,
  };
}

async function syncS3Prefix(
  input: ConnectorSyncInput,
  config: S3PrefixConfig,
  enter: (stage: ConnectorSyncStage) => void,
  report: (counts: Pick<ConnectorSyncProgress, 'listed' | 'ingested' | 'failed'>) => void,
): Promise<ConnectorSyncResult> {
  const { connectorId } = input;
  const totals: S3SyncTotals = input.resume
    ? { ...input.resume, failedRuns: [...input.resume.failedRuns], deletedKeys: [...input.resume.deletedKeys] }
    : { listed: 0, ingested: 0, failed: 0, deleted: 0, failedRuns: [], deletedKeys: [] };
  let after: string | undefined = input.resume?.after ?? '';

  for (let pages = 0; after !== undefined; pages++) {
    if (pages >= PAGES_PER_RUN || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<ConnectorSyncWorkflow>({ connectorId, resume: { ...totals, after } });
    }
    enter('checking');
    const page: S3PageResult = await listS3Changes({ connectorId, config, after, pageSize: PAGE_SIZE });
    totals.listed += page.listed;
    totals.deleted += page.deleted.length;
    totals.deletedKeys.push(...page.deleted.slice(0, SAMPLE - totals.deletedKeys.length));
    report(totals);

    if (page.changes.length > 0) {
      enter('importing');
      const taken = await ingestAll(page.changes, (failure) => {
        totals.failed++;
        if (totals.failedRuns.length < SAMPLE) totals.failedRuns.push(failure);
        report(totals);
      });
      totals.ingested += taken.length;
      report(totals);
    }
    after = page.next;
  }

  enter('recording');
  await recordSync({ connectorId, changed: totals.ingested > 0 || totals.deleted > 0 });
  if (totals.failed > 0) {
    const first = totals.failedRuns[0]!;
    throw ApplicationFailure.nonRetryable(
      `${totals.failed} of ${totals.failed + totals.ingested} changed objects failed to ingest; the next sync retries them. First: ${first.key} (${first.workflowId}): ${first.message}`,
      failure.ObjectsFailed,
      totals,
    );
  }
  enter('completed');
  return {
    kind: 's3-prefix',
    changed: totals.ingested > 0 || totals.deleted > 0,
    listed: totals.listed,
    ingested: totals.ingested,
    deleted: totals.deleted,
    deletedKeys: totals.deletedKeys,
  };

  /**
   * Runs the page's ingests, INGEST_PARALLELISM at a time, and records each object whose run
   * succeeded, so that a cancelled or failing sync still keeps what it finished.
   */
  async function ingestAll(changes: S3Change[], onFailure: (failure: S3SyncTotals['failedRuns'][number]) => void) {
    const succeeded: Array<{ key: string; etag: string; workflowId: string }> = [];
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < changes.length) {
        const change = changes[next++]!;
        try {
          await ingestChild(change);
          succeeded.push({ key: change.object.key, etag: change.object.etag, workflowId: change.workflowId });
        } catch (err) {
          if (isCancellation(err)) throw err;
          onFailure({ key: change.object.key, workflowId: change.workflowId, message: rootMessage(err) });
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(INGEST_PARALLELISM, changes.length) }, lane));
    } finally {
      if (succeeded.length > 0) await CancellationScope.nonCancellable(() => takeS3Objects({ connectorId, objects: succeeded }));
    }
    return succeeded;
  }
}

async function ingestChild(change: S3Change): Promise<void> {
  try {
    await executeChild<IngestWorkflow>(ingestWorkflow.workflowType, {
      workflowId: change.workflowId,
      args: [change.object],
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      // A completed run of this object version (from an earlier sync that stopped before recording
      // it) is not repeated; a failed one is.
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
      typedSearchAttributes: startAttributes(ingestWorkflow.pipeline, change.object.bucket),
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

/** The innermost cause's message: a child's failure wraps its activity's, which says what happened. */
function rootMessage(err: unknown): string {
  let current: unknown = err;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current.message : String(current);
}
