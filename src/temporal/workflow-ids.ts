import { createHash } from 'node:crypto';
import type { ObjectRef } from '../s3-events/parse.js';

/**
 * Deterministic workflow ids: the same delivery always maps to the same id, so Temporal's
 * id-uniqueness collapses duplicates into one run. Temporal caps ids at 1,000 bytes by default;
 * long ids are replaced by a hash of the full id, which stays deterministic.
 */
export const MAX_READABLE_ID_BYTES = 400;

/** The version part of an object's identity: its versionId, else its ETag. */
export function objectVersion(object: Pick<ObjectRef, 'versionId' | 'etag'>): string {
  const version = object.versionId ?? object.etag;
  if (version === undefined) throw new Error('an object needs a versionId or an etag to be identified');
  return version;
}

export function ingestWorkflowId(object: Pick<ObjectRef, 'bucket' | 'key' | 'versionId' | 'etag'>): string {
  return boundedId('ingest', `${object.bucket}/${object.key}@${objectVersion(object)}`);
}

/** One dataset version through one mapping: the same pair is always the same run. */
export function objectifyWorkflowId(dataset: Pick<ObjectRef, 'bucket' | 'key' | 'versionId' | 'etag'>, mappingId: string): string {
  return boundedId('objectify', `${dataset.bucket}/${dataset.key}@${objectVersion(dataset)}:mapping-${mappingId}`);
}

/**
 * An object version ingested for a connector: each sync of the connector finds the same run for
 * the same version. Scoped by connector, so it never collides with the object's notification run.
 */
export function connectorIngestWorkflowId(connectorId: string, object: Pick<ObjectRef, 'bucket' | 'key' | 'versionId' | 'etag'>): string {
  return boundedId('ingest', `connector-${connectorId}/${object.bucket}/${object.key}@${objectVersion(object)}`);
}

/**
 * A run named by a caller's Idempotency-Key: retrying the same request finds the same run even if
 * the object it names has changed in between.
 */
export function keyedWorkflowId(pipeline: string, idempotencyKey: string): string {
  return boundedId(pipeline, `key:${idempotencyKey}`);
}

/** A run started by a signed event: the producer's event id is the idempotency key. */
export function eventWorkflowId(pipeline: string, source: string, eventId: string): string {
  return boundedId(pipeline, `event:${source}/${eventId}`);
}

function boundedId(pipeline: string, natural: string): string {
  const id = `${pipeline}:${natural}`;
  if (Buffer.byteLength(id, 'utf8') <= MAX_READABLE_ID_BYTES) return id;
  return `${pipeline}:sha256:${createHash('sha256').update(natural, 'utf8').digest('hex')}`;
}
