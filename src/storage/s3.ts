/**
 * src/storage: the S3 adapter (typed calls, S3's errors named: not found, changed) and the object
 * naming rules; used by the api (heads, bucket checks) and the worker's activities (transfers).
 */
import type { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import type { Config } from '../config.js';
import { textProblem } from '../support/text.js';

/** The object, or the version of it that was asked for, does not exist. */
export class ObjectNotFoundError extends Error {
  constructor(readonly bucket: string, readonly key: string, detail: string) {
    super(`s3://${bucket}/${key} not found (${detail})`);
    this.name = 'ObjectNotFoundError';
  }
}

/** The object exists but is no longer the version that was asked for (If-Match failed). */
export class ObjectChangedError extends Error {
  constructor(readonly bucket: string, readonly key: string, expectedEtag: string) {
    super(`s3://${bucket}/${key} no longer has ETag ${expectedEtag}: it was replaced after the event`);
    this.name = 'ObjectChangedError';
  }
}

export interface ObjectLocator {
  bucket: string;
  key: string;
  versionId?: string | undefined;
  /** When given, the read fails with ObjectChangedError unless the object still has this ETag. */
  etag?: string | undefined;
}

export interface ObjectHead {
  etag: string;
  /** Undefined for an unversioned bucket. */
  versionId?: string | undefined;
  size: number;
  contentType?: string | undefined;
}

export interface ObjectStream extends ObjectHead {
  body: Readable;
}

export interface ListedObjectHead {
  key: string;
  etag: string;
  size: number;
}

export function createS3Client(config: Config): S3Client {
  return new S3Client({
    endpoint: config.S3_ENDPOINT,
    region: config.S3_REGION,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
    credentials: { accessKeyId: config.S3_ACCESS_KEY_ID, secretAccessKey: config.S3_SECRET_ACCESS_KEY },
    // Retries belong to Temporal's activity retry policy, which sees and records every attempt.
    maxAttempts: 1,
  });
}

/** A thin, typed layer over the S3 client: the calls Harvester makes, with S3's errors named. */
export class S3Storage {
  constructor(private readonly s3: S3Client) {}

  async head(object: ObjectLocator, signal?: AbortSignal): Promise<ObjectHead> {
    try {
      return toHead(await this.s3.send(new HeadObjectCommand(locate(object)), { abortSignal: signal }));
    } catch (err) {
      throw translate(err, object);
    }
  }

  /**
   * Streams the object, or with `start` the bytes from that offset on (a resumed transfer), up to
   * `end` (inclusive) when given; the result's `size` is then the length of that part.
   */
  async read(object: ObjectLocator, signal?: AbortSignal, options: { start?: number; end?: number } = {}): Promise<ObjectStream> {
    try {
      const range = options.start || options.end !== undefined ? { Range: `bytes=${options.start ?? 0}-${options.end ?? ''}` } : {};
      const out = await this.s3.send(new GetObjectCommand({ ...locate(object), ...range }), { abortSignal: signal });
      if (!out.Body) throw new Error(`s3://${object.bucket}/${object.key}: GetObject returned no body`);
      return { body: out.Body as Readable, ...toHead(out) };
    } catch (err) {
      throw translate(err, object);
    }
  }

  async readText(bucket: string, key: string, signal?: AbortSignal): Promise<string> {
    const { body } = await this.read({ bucket, key }, signal);
    const parts: Buffer[] = [];
    for await (const part of body) parts.push(part as Buffer);
    return Buffer.concat(parts).toString('utf8');
  }

  async writeText(bucket: string, key: string, text: string, contentType: string, signal?: AbortSignal): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: text, ContentType: contentType }),
      { abortSignal: signal },
    );
  }

  /** Copies an object within a bucket, server-side (no bytes through this process). */
  async copy(bucket: string, fromKey: string, toKey: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.s3.send(new CopyObjectCommand({ Bucket: bucket, Key: toKey, CopySource: `${bucket}/${fromKey.split('/').map(encodeURIComponent).join('/')}` }), { abortSignal: signal });
    } catch (err) {
      throw translate(err, { bucket, key: fromKey });
    }
  }

  /** Stores bytes and answers with the stored version (ETag, version id when the bucket keeps versions). */
  async writeBytes(bucket: string, key: string, body: Uint8Array, contentType: string, signal?: AbortSignal): Promise<ObjectHead> {
    const out = await this.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }), { abortSignal: signal });
    return { ...toHead(out), size: body.length, contentType };
  }

  /**
   * One page of a listing, in S3's order (keys in UTF-8 byte order), starting after `startAfter`.
   * `last` is the last key S3 returned, `truncated` whether more follow.
   */
  async listPage(bucket: string, prefix: string, startAfter: string, maxKeys: number, signal?: AbortSignal): Promise<{ objects: ListedObjectHead[]; last?: string; truncated: boolean }> {
    const page = await this.s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, StartAfter: startAfter || undefined, MaxKeys: maxKeys }),
      { abortSignal: signal },
    );
    const objects = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ key: o.Key, etag: unquote(o.ETag ?? ''), size: o.Size ?? 0 }] : []));
    return { objects, last: objects.at(-1)?.key, truncated: page.IsTruncated === true };
  }

  /** Deletes every object under a prefix; deleting what is already gone is not an error. */
  async deletePrefix(bucket: string, prefix: string, signal?: AbortSignal): Promise<number> {
    let deleted = 0;
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        { abortSignal: signal },
      );
      const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
      if (keys.length > 0) {
        const out = await this.s3.send(
          new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }),
          { abortSignal: signal },
        );
        const failed = out.Errors ?? [];
        if (failed.length > 0) {
          throw new Error(`could not delete ${failed.length} objects under s3://${bucket}/${prefix}: ${failed[0]?.Message ?? 'unknown'}`);
        }
        deleted += keys.length;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return deleted;
  }

  async bucketExists(bucket: string, signal?: AbortSignal): Promise<void> {
    await this.s3.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal: signal });
  }

  /** False when the bucket is missing or not ours to read; other errors are thrown. */
  async hasBucket(bucket: string, signal?: AbortSignal): Promise<boolean> {
    try {
      await this.bucketExists(bucket, signal);
      return true;
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404 || status === 403) return false;
      throw err;
    }
  }
}

function locate(object: ObjectLocator) {
  return { Bucket: object.bucket, Key: object.key, VersionId: object.versionId, IfMatch: quote(object.etag) };
}

function toHead(out: { ETag?: string; VersionId?: string; ContentLength?: number; ContentType?: string }): ObjectHead {
  // Unversioned buckets answer with no version or the literal "null": either way, no version.
  const versionId = out.VersionId && out.VersionId !== 'null' ? out.VersionId : undefined;
  return { etag: unquote(out.ETag ?? ''), versionId, size: out.ContentLength ?? 0, contentType: out.ContentType };
}

/** S3's bucket naming rule: 3 to 63 lowercase letters, digits, dots and dashes. */
export const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** S3's limit on key length, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;

/** Why a string cannot be an S3 object key, or undefined when it can. */
export function objectKeyProblem(key: string): string | undefined {
  if (key.length === 0) return 'the key is empty';
  const text = textProblem(key, 'the key');
  if (text) return text;
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) return `the key is longer than ${MAX_KEY_BYTES} bytes (UTF-8)`;
  return undefined;
}

/** `s3://<bucket>/<key>`, as datasets are named in requests and events. */
export const S3_URL = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.{1,1024})$/;

/** The bucket and key of an `s3://` URL that matches S3_URL (checked by the request schema). */
export function parseS3Url(url: string): { bucket: string; key: string } {
  const match = S3_URL.exec(url);
  if (!match) throw new Error(`not an s3://<bucket>/<key> URL: ${JSON.stringify(url)}`);
  return { bucket: match[1]!, key: match[2]! };
}

function translate(err: unknown, object: ObjectLocator): unknown {
  if (!(err instanceof S3ServiceException)) return err;
  const status = err.$metadata.httpStatusCode;
  if (err.name === 'NoSuchKey' || err.name === 'NoSuchVersion' || err.name === 'NoSuchBucket' || (err.name === 'NotFound' && status === 404)) {
    return new ObjectNotFoundError(object.bucket, object.key, err.name);
  }
  if (status === 412 && object.etag !== undefined) return new ObjectChangedError(object.bucket, object.key, object.etag);
  // The store refuses the name itself (MinIO: "..", "a//b" and other keys S3 allows): no object
  // can exist under it. A HEAD answer has no body, so the SDK names this error only "Unknown".
  if (status === 400) return new ObjectNotFoundError(object.bucket, object.key, 'the store refuses this object name');
  return err;
}

function quote(etag: string | undefined): string | undefined {
  return etag === undefined ? undefined : `"${etag}"`;
}

function unquote(etag: string): string {
  return etag.replace(/^"|"$/g, '');
}

/** The assets' texts in the work bucket, for GET /api/v1/assets/{id}/text. */
export function assetTexts(storage: S3Storage, workBucket: string) {
  return {
    size: async (key: string, signal?: AbortSignal) => (await storage.head({ bucket: workBucket, key }, signal)).size,
    read: async (key: string, range: { start: number; end: number } | undefined, signal?: AbortSignal) =>
      (await storage.read({ bucket: workBucket, key }, signal, range ?? {})).body,
  };
}
