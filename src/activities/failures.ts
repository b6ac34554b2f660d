import { ApplicationFailure } from '@temporalio/common';
import { ObjectChangedError, ObjectNotFoundError } from '../storage/s3.js';
import { rethrowIfCancelled } from './support.js';

/**
 * Failure types of non-retryable ApplicationFailures: each names a problem that retrying cannot
 * fix, so a person (or the retry endpoint, after the cause is fixed) has to act.
 */
export const failureTypes = {
  objectNotFound: 'ObjectNotFound',
  objectChanged: 'ObjectChanged',
  objectTooLarge: 'ObjectTooLarge',
  unsupportedContent: 'UnsupportedContent',
  corruptContent: 'CorruptContent',
  mappingNotFound: 'MappingNotFound',
} as const;

export type FailureType = (typeof failureTypes)[keyof typeof failureTypes];

/**
 * An S3 error as the activity should throw it: a cancellation as the cancellation, a missing or
 * replaced object as a non-retryable failure, anything else as is (retried by Temporal).
 */
export function asStorageFailure(err: unknown, signal: AbortSignal): unknown {
  rethrowIfCancelled(err, signal);
  if (err instanceof ObjectNotFoundError) return ApplicationFailure.nonRetryable(err.message, failureTypes.objectNotFound);
  if (err instanceof ObjectChangedError) return ApplicationFailure.nonRetryable(err.message, failureTypes.objectChanged);
  return err;
}
