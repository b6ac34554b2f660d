/**
 * The connector-sync pipeline's contract: one poll of a connector's source, started by the
 * connector's Temporal Schedule. Its input, result and progress, stages, query and schedule id.
 */
import { defineQuery } from '@temporalio/workflow';
import { defineWorkflow, PROGRESS_QUERY } from './common.js';

export interface S3SyncTotals {
  listed: number;
  ingested: number;
  failed: number;
  deleted: number;
  /** The first failed runs and deleted keys, for the result; the counts are complete. */
  failedRuns: Array<{ key: string; workflowId: string; message: string }>;
  deletedKeys: string[];
}

export interface ConnectorSyncInput {
  connectorId: string;
  /** s3-prefix, set by continue-as-new: where the listing goes on, and the totals so far. */
  resume?: S3SyncTotals & { after: string };
}

export type ConnectorSyncStage = 'checking' | 'importing' | 'recording' | 'completed';

export type ConnectorSyncResult =
  | { kind: 'http-csv'; changed: false; reason: 'not-modified' | 'same-content' }
  | { kind: 'http-csv'; changed: true; snapshot: string; objectifyWorkflowId: string; datasetVersionId: string; objects: number; rowsRead: number; rowsRejected: number }
  | ({ kind: 's3-prefix'; changed: boolean } & Omit<S3SyncTotals, 'failed' | 'failedRuns'>);

export interface ConnectorSyncProgress {
  stage: ConnectorSyncStage;
  /** s3-prefix: the counts so far. */
  listed: number;
  ingested: number;
  failed: number;
}

export type ConnectorSyncWorkflow = (input: ConnectorSyncInput) => Promise<ConnectorSyncResult>;

/** Implemented by `connectorSync` in src/workflows/connector-sync.ts. */
export const connectorSyncWorkflow = defineWorkflow<ConnectorSyncWorkflow>('connectorSync', 'connector-sync');

export const connectorSyncProgressQuery = defineQuery<ConnectorSyncProgress>(PROGRESS_QUERY);

/**
 * The connector's Temporal Schedule, `connector-sync:<connector id>`. Its sync runs are named
 * `connector-sync:<connector id>-<scheduled time>`: Temporal appends the time to this id.
 */
export function connectorScheduleId(connectorId: string): string {
  return `connector-sync:${connectorId}`;
}
