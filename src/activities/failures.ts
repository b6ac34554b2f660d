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
