import type { ObjectRef } from '../contracts/common.js';
import type { ObjectHead, ObjectLocator } from '../storage/s3.js';

/** What pinning needs of object storage. */
export interface HeadReader {
  head(object: ObjectLocator, signal?: AbortSignal): Promise<ObjectHead>;
}

/** An object version a run can be named after and started on: the ETag is always known. */
export type PinnedObject = ObjectRef & { etag: string; size: number };

/**
 * The one rule for starting a run on "this object as it is now": read its head (the given
 * version, else the current one) and name the run after that version, so the run never reads an
 * object replaced after it was asked for. Unversioned buckets have no version id: the ETag names
 * the version. A missing object, version or bucket (and a name the store refuses) is an
 * ObjectNotFoundError, the store's own mapping (storage/s3.ts); each caller answers it its way.
 */
export async function pinVersion(storage: HeadReader, object: Pick<ObjectRef, 'bucket' | 'key' | 'versionId'>, signal?: AbortSignal): Promise<PinnedObject> {
  const head = await storage.head({ bucket: object.bucket, key: object.key, versionId: object.versionId }, signal);
  return {
    bucket: object.bucket,
    key: object.key,
    versionId: object.versionId ?? head.versionId,
    etag: head.etag,
    size: head.size,
    contentType: head.contentType,
  };
}
