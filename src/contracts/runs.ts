/**
 * What the status API reads of any run: the pipelines' workflow contracts, and the progress query
 * every pipeline answers (with the counters of its own).
 */
import { defineQuery } from '@temporalio/workflow';
import { type Pipeline, PROGRESS_QUERY, type WorkflowContract } from './common.js';
import { type ConnectorSyncProgress, connectorSyncWorkflow } from './connector-sync.js';
import { type IngestProgress, ingestWorkflow } from './ingest.js';
import { type ObjectifyProgress, objectifyWorkflow } from './objectify.js';

/** Each pipeline's workflow. */
export const PIPELINE_WORKFLOWS = {
  ingest: ingestWorkflow,
  objectify: objectifyWorkflow,
  'connector-sync': connectorSyncWorkflow,
} as const satisfies Record<Pipeline, WorkflowContract>;

export type RunProgress = IngestProgress | ObjectifyProgress | ConnectorSyncProgress;

/** The `progress` query as the status API asks it, not knowing the pipeline in advance. */
export const runProgressQuery = defineQuery<RunProgress>(PROGRESS_QUERY);
