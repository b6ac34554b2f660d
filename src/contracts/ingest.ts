/**
 * The ingest pipeline's contract: one stored object becomes an analysed asset. Its input, result
 * and progress, its stages on the 0..1 scale, its query and its workflow ids.
 */
import { defineQuery } from '@temporalio/workflow';
import type { RunUsage } from './ai.js';
import { boundedId, defineWorkflow, type ObjectRef, type ObjectVersionRef, objectVersion, PROGRESS_QUERY } from './common.js';

/** One stored object, as named by its S3 event notification or an API call. */
export type IngestInput = ObjectRef;

export type IngestStage = 'downloading' | 'extracting' | 'analysing' | 'persisting' | 'completed';

/** Where each stage starts on the 0..1 progress scale: the transfer and the analysis dominate a run's time. */
export const INGEST_STAGE_START: Record<IngestStage, number> = {
  downloading: 0,
  extracting: 0.4,
  analysing: 0.55,
  persisting: 0.85,
  completed: 1,
};

export interface IngestProgress {
  stage: IngestStage;
  /** 0..1, by stage (INGEST_STAGE_START) and, while a model analyses the text, by finished windows; the status API refines the download's share from its heartbeat. */
  progress: number;
  /** With a model: the windows of the text, and how many are analysed. */
  windows?: number | undefined;
  windowsDone?: number | undefined;
  /** With a model: the tokens and cost of the calls made so far. */
  usage?: RunUsage | undefined;
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
  /** With a model: the title it gave and the labels (AI_LABELS) it chose. */
  title?: string | undefined;
  labels?: string[] | undefined;
}

export type IngestWorkflow = (input: IngestInput) => Promise<IngestResult>;

/** Implemented by `ingest` in src/workflows/ingest.ts. */
export const ingestWorkflow = defineWorkflow<IngestWorkflow>('ingest', 'ingest');

export const ingestProgressQuery = defineQuery<IngestProgress>(PROGRESS_QUERY);

/** `ingest:<bucket>/<key>@<version>`: every notification of one object version is one run. */
export function ingestWorkflowId(object: ObjectVersionRef): string {
  return boundedId('ingest', `${object.bucket}/${object.key}@${objectVersion(object)}`);
}

/**
 * An object version ingested for a connector: each sync of the connector finds the same run for
 * the same version. Scoped by connector, so it never collides with the object's notification run.
 */
export function connectorIngestWorkflowId(connectorId: string, object: ObjectVersionRef): string {
  return boundedId('ingest', `connector-${connectorId}/${object.bucket}/${object.key}@${objectVersion(object)}`);
}
