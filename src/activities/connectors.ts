import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { S3ServiceException } from '@aws-sdk/client-s3';
import { checkHttpCsv, SourceStatusError } from '../connectors/http-csv.js';
import { displayUrl, ResponseTooLargeError, UnsafeUrlError } from '../connectors/safe-fetch.js';
import type { HttpCsvConfig, S3PrefixConfig } from '../connectors/spec.js';
import type { HttpCsvPosition, ListedObject, PgConnectorRepository } from '../db/connectors.js';
import type { ObjectRef } from '../contracts/common.js';
import { failure } from '../contracts/failures.js';
import { connectorIngestWorkflowId } from '../contracts/ingest.js';
import { type DatasetRef, objectifyWorkflowId } from '../contracts/objectify.js';
import type { ListedObjectHead, ObjectHead } from '../storage/s3.js';
import { rethrowIfCancelled } from './support.js';

export interface ConnectorActivityDependencies {
  connectors: Pick<PgConnectorRepository, 'get' | 'cursor' | 'recordCheck' | 'diffPage' | 'takeObjects'>;
  storage: {
    writeBytes(bucket: string, key: string, body: Uint8Array, contentType: string, signal?: AbortSignal): Promise<ObjectHead>;
    listPage(bucket: string, prefix: string, startAfter: string, maxKeys: number, signal?: AbortSignal): Promise<{ objects: ListedObjectHead[]; last?: string; truncated: boolean }>;
  };
  /** Snapshots of http-csv sources are kept here, under `connectors/`. */
  workBucket: string;
  allowedHosts: readonly string[];
  maxBytes: number;
  timeoutMs: number;
}

/** What a sync needs to know about its connector: read at the start of each run. */
export type ConnectorPlan =
  | { kind: 'http-csv'; name: string; config: HttpCsvConfig; mappingId: string }
  | { kind: 's3-prefix'; name: string; config: S3PrefixConfig };

export type HttpCsvCheckResult =
  | { changed: false; reason: 'not-modified' | 'same-content' }
  | { changed: true; snapshot: DatasetRef; objectifyWorkflowId: string; position: HttpCsvPosition };

export interface S3Change {
  object: ObjectRef & { etag: string };
  workflowId: string;
}

export interface S3PageResult {
  /** Objects listed on this page (after the suffix filter). */
  listed: number;
  changes: S3Change[];
  /** Keys taken earlier that the source no longer has. */
  deleted: string[];
  /** Where the next page starts; absent after the last page. */
  next?: string;
}

export function createConnectorActivities(deps: ConnectorActivityDependencies) {
  return {
    /** The connector's current definition; a deleted connector fails the sync for good. */
    async loadConnector(input: { connectorId: string }): Promise<ConnectorPlan> {
      const connector = await deps.connectors.get(input.connectorId);
      if (!connector) throw ApplicationFailure.nonRetryable(`connector ${input.connectorId} does not exist (deleted?)`, failure.ConnectorNotFound);
      return connector.kind === 'http-csv'
        ? { kind: 'http-csv', name: connector.name, config: connector.config, mappingId: connector.mappingId }
        : { kind: 's3-prefix', name: connector.name, config: connector.config };
    },

    /**
     * Asks the source whether its CSV changed since the cursor (conditional GET, then content
     * hash). Unchanged: records the check and answers so. Changed: stores the file as the next
     * snapshot in S3 and answers with it; the cursor moves only when the workflow has imported it.
     * A changed mapping counts as a change, so the same file is imported through the new mapping.
     */
    async checkHttpCsv(input: { connectorId: string; url: string; mappingId: string }): Promise<HttpCsvCheckResult> {
      const ctx = Context.current();
      const workflowId = syncWorkflowId(ctx);
      const position: HttpCsvPosition = { sequence: 0, ...(await deps.connectors.cursor(input.connectorId))?.position };
      const sameMapping = position.mappingId === input.mappingId;
      const validators = sameMapping ? { etag: position.etag, lastModified: position.lastModified, sha256: position.sha256 } : {};

      let check;
      try {
        check = await checkHttpCsv(input.url, validators, { allowedHosts: deps.allowedHosts, maxBytes: deps.maxBytes, timeoutMs: deps.timeoutMs, signal: ctx.cancellationSignal });
      } catch (err) {
        rethrowIfCancelled(err, ctx.cancellationSignal);
        if (err instanceof UnsafeUrlError) throw ApplicationFailure.nonRetryable(err.message, failure.UnsafeUrl);
        if (err instanceof ResponseTooLargeError) throw ApplicationFailure.nonRetryable(`${displayUrl(input.url)}: ${err.message} (CONNECTOR_MAX_BYTES)`, failure.SourceTooLarge);
        if (err instanceof SourceStatusError && !err.retryable) throw ApplicationFailure.nonRetryable(`${err.message}; check the URL and that the source is shared publicly`, failure.SourceRefused);
        throw err;
      }

      if (!check.changed) {
        await deps.connectors.recordCheck(input.connectorId, { position: { ...position, ...check.cursor }, changed: false, workflowId }).catch(connectorGone(input.connectorId));
        return { changed: false, reason: check.reason };
      }
      if (check.contentType && /^text\/html\b/i.test(check.contentType)) {
        throw ApplicationFailure.nonRetryable(
          `${displayUrl(input.url)} answered with an HTML page, not CSV (a Google Sheet must be shared with "anyone with the link" and exported with format=csv)`,
          failure.NotCsv,
        );
      }
      const sequence = position.sequence + 1;
      const key = `connectors/${input.connectorId}/snapshots/${String(sequence).padStart(8, '0')}.csv`;
      const stored = await deps.storage.writeBytes(deps.workBucket, key, check.body, 'text/csv', ctx.cancellationSignal);
      const snapshot: DatasetRef = { bucket: deps.workBucket, key, etag: stored.etag, ...(stored.versionId ? { versionId: stored.versionId } : {}) };
      return {
        changed: true,
        snapshot,
        objectifyWorkflowId: objectifyWorkflowId(snapshot, input.mappingId),
        position: { ...check.cursor, mappingId: input.mappingId, sequence },
      };
    },

    /** Moves the cursor (or only records the check) when a sync's runs have all succeeded. */
    async recordSync(input: { connectorId: string; position?: HttpCsvPosition; changed: boolean }): Promise<void> {
      const workflowId = syncWorkflowId(Context.current());
      await deps.connectors.recordCheck(input.connectorId, { ...input, workflowId }).catch(connectorGone(input.connectorId));
    },

    /**
     * Lists one page of an s3-prefix source after `after` and compares it with the objects taken
     * so far: answers with the new or changed objects (each with its ingest run's id) and forgets
     * taken objects that were deleted from the source.
     */
    async listS3Changes(input: { connectorId: string; config: S3PrefixConfig; after: string; pageSize: number }): Promise<S3PageResult> {
      const ctx = Context.current();
      const { bucket, prefix, suffix } = input.config;
      let page;
      try {
        page = await deps.storage.listPage(bucket, prefix, input.after, input.pageSize, ctx.cancellationSignal);
      } catch (err) {
        rethrowIfCancelled(err, ctx.cancellationSignal);
        if (err instanceof S3ServiceException && err.name === 'NoSuchBucket') throw ApplicationFailure.nonRetryable(`bucket ${bucket} does not exist`, failure.BucketNotFound);
        throw err;
      }
      // Folder placeholders ("a/b/") are not files.
      const files: ListedObject[] = page.objects.filter((o) => !o.key.endsWith('/') && (!suffix || o.key.endsWith(suffix)));
      const sizes = new Map(page.objects.map((o) => [o.key, o.size]));
      const diff = await deps.connectors.diffPage(input.connectorId, files, { after: input.after, ...(page.truncated && page.last ? { through: page.last } : {}) });
      return {
        listed: files.length,
        changes: diff.changed.map((o) => {
          const object = { bucket, key: o.key, etag: o.etag, size: sizes.get(o.key) };
          return { object, workflowId: connectorIngestWorkflowId(input.connectorId, object) };
        }),
        deleted: diff.deleted,
        ...(page.truncated && page.last ? { next: page.last } : {}),
      };
    },

    /** s3-prefix: records objects whose ingest runs succeeded, so later syncs skip them. */
    async takeS3Objects(input: { connectorId: string; objects: Array<ListedObject & { workflowId: string }> }): Promise<void> {
      await deps.connectors.takeObjects(input.connectorId, input.objects).catch(connectorGone(input.connectorId));
    },
  };
}

// Postgres' code when the cursor's connector row is gone.
const FOREIGN_KEY_VIOLATION = '23503';

/** A cursor write for a connector deleted during its sync: nothing to record, and no retry helps. */
function connectorGone(connectorId: string) {
  return (err: unknown): never => {
    if ((err as { code?: string }).code === FOREIGN_KEY_VIOLATION) {
      throw ApplicationFailure.nonRetryable(`connector ${connectorId} was deleted during the sync`, failure.ConnectorNotFound);
    }
    throw err;
  };
}

function syncWorkflowId(ctx: Context): string {
  const execution = ctx.info.workflowExecution;
  if (!execution) throw ApplicationFailure.nonRetryable('connector activities run only inside a connector-sync workflow', failure.NotInWorkflow);
  return execution.workflowId;
}

export type ConnectorActivities = ReturnType<typeof createConnectorActivities>;
