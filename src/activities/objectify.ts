import { Transform } from 'node:stream';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { LoadCounts, PgObjectifyLoads, ObjectRecord, RejectRecord } from '../db/objectify-loads.js';
import type { MappingRecord } from '../db/mappings.js';
import { compileMapping } from '../objectify/convert.js';
import { DatasetFormatError, DatasetTooLargeError, detectFormat, readRecords, readsFromStart } from '../objectify/reader.js';
import type { ObjectHead, ObjectLocator, ObjectStream } from '../storage/s3.js';
import { objectVersion } from '../contracts/common.js';
import { failure } from '../contracts/failures.js';
import type { DatasetRef, LoadCursor } from '../contracts/objectify.js';
import { asStorageFailure, rethrowIfCancelled } from './support.js';

/** What objectify needs from object storage. */
export interface DatasetStorage {
  head(object: ObjectLocator, signal?: AbortSignal): Promise<ObjectHead>;
  read(object: ObjectLocator, signal?: AbortSignal, options?: { start?: number }): Promise<ObjectStream>;
}

export interface ObjectifyDependencies {
  storage: DatasetStorage;
  loads: Pick<PgObjectifyLoads, 'registerDatasetVersion' | 'open' | 'writeBatch' | 'publish' | 'discard'>;
  mappings: { get(id: string): Promise<MappingRecord | undefined> };
}

export interface PreparedLoad {
  /** The load's counts when an earlier run published it already. */
  published: LoadCounts | null;
  /** Where loading starts: the load, its dataset version and object type, the file's format and size. */
  cursor: LoadCursor;
}

const HEARTBEAT_EVERY_MS = 5_000;
const REJECT_SAMPLES = 3;
// Postgres' code when a batch's load row is gone.
const FOREIGN_KEY_VIOLATION = '23503';

export function createObjectifyActivities(deps: ObjectifyDependencies) {
  async function mappingOf(id: string): Promise<MappingRecord> {
    const mapping = await deps.mappings.get(id);
    if (!mapping) throw ApplicationFailure.nonRetryable(`mapping ${id} does not exist`, failure.MappingNotFound);
    return mapping;
  }

  return {
    /** Checks the object and the mapping, registers the dataset version and opens its load. */
    async prepareLoad(input: { dataset: DatasetRef; mappingId: string; workflowId: string }): Promise<PreparedLoad> {
      const signal = Context.current().cancellationSignal;
      const { dataset } = input;
      const mapping = await mappingOf(input.mappingId);
      const head = await deps.storage.head({ bucket: dataset.bucket, key: dataset.key, versionId: dataset.versionId, etag: dataset.etag }, signal).catch((err: unknown) => {
        throw asStorageFailure(err, signal);
      });
      const kind = detectFormat(dataset.key, head.contentType);
      if (!kind) {
        throw ApplicationFailure.nonRetryable(
          `s3://${dataset.bucket}/${dataset.key} is neither CSV nor JSON Lines (name it .csv, .jsonl or .ndjson, optionally .gz)`,
          failure.UnsupportedContent,
        );
      }
      const { datasetVersionId } = await deps.loads.registerDatasetVersion({
        bucket: dataset.bucket,
        key: dataset.key,
        version: objectVersion(dataset),
        etag: head.etag,
        sizeBytes: head.size,
        format: kind.format,
        gzip: kind.gzip,
      });
      const opened = await deps.loads.open({ datasetVersionId, mappingId: mapping.id, objectType: mapping.objectType, workflowId: input.workflowId });
      return {
        published: opened.published,
        cursor: {
          loadId: opened.loadId,
          datasetVersionId,
          objectType: mapping.objectType,
          format: kind.format,
          gzip: kind.gzip,
          sizeBytes: head.size,
          offset: 0,
          rowNumber: 0,
          rowsRead: 0,
          rowsRejected: 0,
          bytesRead: 0,
          done: false,
        },
      };
    },

    /**
     * Reads up to `maxBatches` batches of rows from the cursor on, converts them and writes each
     * batch in one transaction, heartbeating the cursor after every commit. A retried attempt
     * starts from the last heartbeat, so no batch is read twice after it committed (and a batch
     * that did not commit is simply written again: the writes are upserts).
     */
    async loadRows(input: { cursor: LoadCursor; dataset: DatasetRef; mappingId: string; batchRows: number; maxBatches: number }): Promise<LoadCursor> {
      const ctx = Context.current();
      const signal = ctx.cancellationSignal;
      const resumed = ctx.info.heartbeatDetails as LoadCursor | undefined;
      let cursor: LoadCursor = resumed && resumed.loadId === input.cursor.loadId && resumed.rowNumber >= input.cursor.rowNumber ? resumed : input.cursor;
      if (cursor.done) return cursor;
      const mapping = compileMapping((await mappingOf(input.mappingId)).spec, { format: cursor.format });

      // A plain UTF-8 file resumes with a ranged read; a gzip stream can only be decompressed from
      // its start, and UTF-16 offsets count the bytes of its UTF-8 translation.
      const fromStart = cursor.gzip || readsFromStart(cursor.encoding);
      const start = fromStart ? 0 : cursor.offset;
      if (!fromStart && start >= cursor.sizeBytes) return { ...cursor, bytesRead: cursor.sizeBytes, done: true };
      const { dataset } = input;
      const stream = await deps.storage
        .read({ bucket: dataset.bucket, key: dataset.key, versionId: dataset.versionId, etag: dataset.etag }, signal, { start })
        .catch((err: unknown) => {
          throw asStorageFailure(err, signal);
        });
      let stored = start;
      // Counts the stored bytes as the reader pulls them (a 'data' listener would drain the stream).
      const meter = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          stored += chunk.length;
          done(null, chunk);
        },
      });
      stream.body.on('error', (err) => meter.destroy(err));
      stream.body.pipe(meter);

      let objects: ObjectRecord[] = [];
      let rejects: RejectRecord[] = [];
      let pending = cursor;
      let batches = 0;
      const commit = async (next: LoadCursor): Promise<void> => {
        await deps.loads.writeBatch(cursor.loadId, objects, rejects);
        objects = [];
        rejects = [];
        cursor = { ...next, bytesRead: Math.max(next.bytesRead, Math.min(stored, next.sizeBytes)) };
        ctx.heartbeat(cursor);
        batches++;
      };
      // Between commits (a slow batch, a slow read) the last committed cursor is repeated, so the
      // heartbeat timeout measures a dead worker, not a large batch.
      const keepAlive = setInterval(() => ctx.heartbeat(cursor), HEARTBEAT_EVERY_MS);
      try {
        const records = readRecords(meter, {
          format: cursor.format,
          gzip: cursor.gzip,
          startOffset: cursor.offset,
          startRow: cursor.rowNumber,
          header: cursor.header,
          encoding: cursor.encoding,
        });
        for await (const record of records) {
          signal.throwIfAborted();
          const header = record.header ?? pending.header;
          let reject: RejectRecord | undefined;
          if ('reject' in record) {
            reject = storable({ rowNumber: record.rowNumber, column: null, reason: record.reject, raw: record.raw });
          } else {
            const converted = mapping.convert(record.row);
            if (converted.ok) objects.push({ key: converted.key, properties: converted.properties });
            else reject = storable({ rowNumber: record.rowNumber, column: converted.column, reason: converted.reason, raw: rawRow(record.row) });
          }
          if (reject) rejects.push(reject);
          const samples = pending.firstRejects ?? [];
          pending = {
            ...pending,
            header,
            encoding: record.encoding,
            ...(reject && samples.length < REJECT_SAMPLES ? { firstRejects: [...samples, { rowNumber: reject.rowNumber, reason: cut(reject.reason, 200) }] } : {}),
            offset: record.endOffset,
            rowNumber: record.rowNumber,
            rowsRead: pending.rowsRead + 1,
            rowsRejected: pending.rowsRejected + (reject ? 1 : 0),
          };
          if (objects.length + rejects.length >= input.batchRows) {
            await commit(pending);
            if (batches >= input.maxBatches) {
              stream.body.destroy();
              return cursor;
            }
          }
        }
        await commit({ ...pending, done: true });
        return { ...cursor, bytesRead: cursor.sizeBytes };
      } catch (err) {
        stream.body.destroy();
        rethrowIfCancelled(err, signal);
        if ((err as { code?: unknown }).code === FOREIGN_KEY_VIOLATION) {
          throw ApplicationFailure.nonRetryable(`load ${cursor.loadId} was discarded by another run of this dataset version and mapping`, failure.LoadDiscarded);
        }
        if (err instanceof DatasetTooLargeError) {
          throw ApplicationFailure.nonRetryable(`s3://${dataset.bucket}/${dataset.key}: ${err.message}`, failure.ObjectTooLarge);
        }
        if (err instanceof DatasetFormatError) {
          throw ApplicationFailure.nonRetryable(`s3://${dataset.bucket}/${dataset.key}: ${err.message}`, failure.CorruptContent);
        }
        throw err;
      } finally {
        clearInterval(keepAlive);
      }
    },

    async publishLoad(input: { loadId: string; rowsRead: number }): Promise<LoadCounts> {
      return deps.loads.publish(input.loadId, { rowsRead: input.rowsRead });
    },

    async discardLoad(input: { loadId: string }): Promise<{ discarded: boolean }> {
      const run = Context.current().info.workflowExecution;
      return deps.loads.discard(input.loadId, run?.workflowId ?? '');
    },
  };
}

export type ObjectifyActivities = ReturnType<typeof createObjectifyActivities>;

/**
 * A reject as Postgres' text columns take it: they hold no NUL character, so one (from the file's
 * bytes, or a header name in a reason) becomes U+FFFD, as unpaired surrogates do when encoded.
 * The raw copy is for reading; the reason says what was wrong with it.
 */
function storable(reject: RejectRecord): RejectRecord {
  const clean = (text: string) => (text.includes('\0') ? text.replace(/\0/g, '\uFFFD') : text);
  return { ...reject, column: reject.column === null ? null : clean(reject.column), reason: clean(reject.reason), raw: clean(reject.raw) };
}

/** A row as JSON for its reject; one nested too deep for JSON.stringify is described instead. */
function rawRow(row: Record<string, unknown>): string {
  try {
    return JSON.stringify(row);
  } catch (err) {
    if (err instanceof RangeError) return '(the row is nested too deeply to show)';
    throw err;
  }
}

function cut(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length - 3)}...` : text;
}
