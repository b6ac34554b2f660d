/**
 * The objectify pipeline's contract: a dataset version through a mapping spec becomes typed
 * objects, published atomically. Its input (with the load cursor that continue-as-new carries),
 * result and progress, stages, defaults, query and workflow id.
 */
import { defineQuery } from '@temporalio/workflow';
import { boundedId, defineWorkflow, type ObjectVersionRef, objectVersion, PROGRESS_QUERY } from './common.js';

/** A run fails, publishing nothing, above this share of rejected rows (unless the caller says otherwise). */
export const DEFAULT_MAX_REJECT_RATIO = 0.05;
/** Rows per database transaction (unless the caller says otherwise). */
export const DEFAULT_BATCH_ROWS = 5_000;

/** One dataset version: an S3 object version, pinned by its ETag. */
export interface DatasetRef {
  bucket: string;
  key: string;
  versionId?: string;
  etag: string;
}

/** The text encodings a dataset may be in (UTF-16 only with its BOM). */
export type TextEncodingName = 'utf-8' | 'utf-16le' | 'utf-16be';

export interface RejectSample {
  rowNumber: number;
  reason: string;
}

/** Where a load stands: carried between loadRows calls and across continue-as-new. */
export interface LoadCursor {
  loadId: string;
  datasetVersionId: string;
  objectType: string;
  format: 'csv' | 'jsonl';
  gzip: boolean;
  sizeBytes: number;
  /** The CSV header, once read: a resumed read starts after it. */
  header?: string[];
  /** The file's text encoding, once read: a UTF-16 file is read from its start again on a resume. */
  encoding?: TextEncodingName;
  /** The first few rejected rows, so that a run failing on too many rejects can say why. */
  firstRejects?: RejectSample[];
  /** Offset in the (uncompressed) file just after the last committed row. */
  offset: number;
  /** Rows committed so far, rejected ones included: the next row is rowNumber + 1. */
  rowNumber: number;
  rowsRead: number;
  rowsRejected: number;
  /** Of the stored (possibly compressed) object, for progress. */
  bytesRead: number;
  done: boolean;
}

/** A dataset version (one S3 object version) through one registered mapping spec. */
export interface ObjectifyInput {
  dataset: DatasetRef;
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

export type ObjectifyWorkflow = (input: ObjectifyInput) => Promise<ObjectifyResult>;

/** Implemented by `objectify` in src/workflows/objectify.ts. */
export const objectifyWorkflow = defineWorkflow<ObjectifyWorkflow>('objectify', 'objectify');

export const objectifyProgressQuery = defineQuery<ObjectifyProgress>(PROGRESS_QUERY);

/** One dataset version through one mapping: the same pair is always the same run. */
export function objectifyWorkflowId(dataset: ObjectVersionRef, mappingId: string): string {
  return boundedId('objectify', `${dataset.bucket}/${dataset.key}@${objectVersion(dataset)}:mapping-${mappingId}`);
}
