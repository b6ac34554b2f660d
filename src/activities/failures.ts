import { ApplicationFailure } from '@temporalio/common';
import { failure } from '../contracts/failures.js';
import { ObjectChangedError, ObjectNotFoundError } from '../storage/s3.js';
import { rethrowIfCancelled } from './support.js';


/**
 * An S3 error as the activity should throw it: a cancellation as the cancellation, a missing or
 * replaced object as a non-retryable failure, anything else as is (retried by Temporal).
 */
export function asStorageFailure(err: unknown, signal: AbortSignal): unknown {
  rethrowIfCancelled(err, signal);
  if (err instanceof ObjectNotFoundError) return ApplicationFailure.nonRetryable(err.message, failure.ObjectNotFound);
  if (err instanceof ObjectChangedError) return ApplicationFailure.nonRetryable(err.message, failure.ObjectChanged);
  return err;
}
