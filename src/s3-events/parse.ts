/**
 * src/s3-events: parsing of S3 and MinIO bucket notifications into ingest decisions; used by the
 * api process's POST /api/v1/events/s3.
 */
import { z } from 'zod';
import type { ObjectRef } from '../contracts/common.js';
import { BUCKET_NAME, MAX_KEY_BYTES, objectKeyProblem } from '../storage/s3.js';

/**
 * Parsing of S3 event notification bodies, in both shapes Harvester receives:
 * - AWS S3: `{ Records: [...] }`, `eventName` like `ObjectCreated:Put`, keys form-encoded;
 * - MinIO: `{ EventName, Key, Records: [one record] }`, `eventName` like `s3:ObjectCreated:Put`,
 *   keys query-escaped (`/` as `%2F`, space as `+`).
 * Both encode keys the same way, so one decoder serves both.
 */

export type RecordDecision =
  | { action: 'ingest'; eventName: string; object: ObjectRef }
  | { action: 'ignore'; eventName: string; reason: string };

export type S3EventDecision =
  | { kind: 'test-event' }
  | { kind: 'records'; records: RecordDecision[] };

export class S3EventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'S3EventError';
  }
}

// The object-creating events. MinIO's `s3:ObjectCreated:*` also covers tagging, retention and
// legal-hold changes (PutTagging, PutRetention, PutLegalHold): those do not change the content.
const CONTENT_EVENTS = new Set(['Put', 'Post', 'Copy', 'CompleteMultipartUpload']);

/** S3's limit on object size (5 TiB); anything larger is not a real notification. */
const MAX_OBJECT_BYTES = 5 * 1024 ** 4;

const recordSchema = z.object({
  eventName: z.string().min(1).max(128),
  s3: z.object({
    bucket: z.object({
      name: z
        .string()
        .regex(BUCKET_NAME, 'not a valid S3 bucket name'),
    }),
    object: z.object({
      key: z.string().min(1).max(3 * MAX_KEY_BYTES),
      size: z.number().int().min(0).max(MAX_OBJECT_BYTES).optional(),
      eTag: z.string().max(128).optional(),
      versionId: z.string().max(1024).optional(),
      contentType: z.string().max(256).optional(),
    }),
  }),
});

const bodySchema = z.union([
  z.object({ Records: z.array(recordSchema).min(1).max(1000) }),
  z.object({ Event: z.literal('s3:TestEvent') }),
]);

/**
 * Turns a parsed JSON body into one decision per record. Throws S3EventError when the body is not
 * an S3 notification at all or a record lacks what an ingest run needs.
 */
export function parseS3Event(body: unknown): S3EventDecision {
  const parsed = bodySchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    throw new S3EventError(`not an S3 event notification${where}: ${issue?.message ?? 'invalid'}`);
  }
  if (!('Records' in parsed.data)) return { kind: 'test-event' };
  return { kind: 'records', records: parsed.data.Records.map(decideRecord) };
}

function decideRecord(record: z.infer<typeof recordSchema>, index: number): RecordDecision {
  const eventName = record.eventName.replace(/^s3:/, '');
  const [category, action] = eventName.split(':');
  if (category !== 'ObjectCreated' || action === undefined || !CONTENT_EVENTS.has(action)) {
    return { action: 'ignore', eventName, reason: `${eventName} does not create content` };
  }
  const { bucket, object } = record.s3;
  const key = decodeKey(object.key, index);
  const versionId = nonEmpty(object.versionId);
  const etag = nonEmpty(object.eTag?.replace(/^"|"$/g, ''));
  if (versionId === undefined && etag === undefined) {
    throw new S3EventError(`Records[${index}]: an ObjectCreated record needs s3.object.eTag or versionId`);
  }
  return {
    action: 'ingest',
    eventName,
    object: {
      bucket: bucket.name,
      key,
      versionId,
      etag,
      size: object.size,
      contentType: nonEmpty(object.contentType),
    },
  };
}

/** Decodes an event key: `+` is a space, everything else is percent-encoded UTF-8. */
export function decodeKey(raw: string, index = 0): string {
  let key: string;
  try {
    key = decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    throw new S3EventError(`Records[${index}]: s3.object.key is not valid percent-encoding`);
  }
  const problem = objectKeyProblem(key);
  if (problem) throw new S3EventError(`Records[${index}]: s3.object.key: ${problem}`);
  return key;
}

// Unversioned buckets report versionId as absent, "" or "null" depending on the store.
function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' || value === 'null' ? undefined : value;
}
