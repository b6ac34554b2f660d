/**
 * Every failure type a Harvester run can end with: one closed set. Activities and workflows throw
 * non-retryable ApplicationFailures of these types for problems that retrying cannot fix, so a
 * person (or the retry endpoint, once the cause is fixed) has to act; the API reports them as the
 * failure `type` of a run, and its OpenAPI document lists them. Temporal's own endings (a timeout,
 * a termination, a cancellation) are reported as Timeout, Terminated and Cancelled.
 */
export const FAILURE_TYPES = {
  // ingest and objectify: the object
  ObjectNotFound: 'the object (or the version the run names) is not in the store',
  ObjectChanged: 'the object was replaced since the run was started (another ETag)',
  ObjectTooLarge: 'above a size limit (INGEST_MAX_BYTES), or a compressed file that expands too far',
  UnsupportedContent: 'a file type the pipeline cannot read',
  CorruptContent: 'a file of a known type that cannot be read (truncated, malformed, a zip bomb)',
  // objectify
  MappingNotFound: 'the mapping spec does not exist',
  LoadDiscarded: 'the unfinished load was discarded by another run of the same dataset version and mapping',
  TooManyRejects: 'more rows were rejected than maxRejectRatio allows; nothing was published',
  // connector-sync
  ConnectorNotFound: 'the connector was deleted',
  UnsafeUrl: 'the source URL resolves or redirects to an address that is not allowed (CONNECTOR_ALLOWED_HOSTS)',
  SourceRefused: 'the source answered with a client error (4xx): check the URL and its sharing',
  SourceTooLarge: 'the source sent more than CONNECTOR_MAX_BYTES',
  NotCsv: 'the source answered with an HTML page, not CSV',
  BucketNotFound: "the s3-prefix connector's bucket does not exist",
  ObjectsFailed: 'some objects of an s3-prefix sync failed to ingest; the next sync retries them',
  // ingest: the AI provider
  AiRequestRefused: 'the model endpoint refused the request (a bad key, an unknown model, a context too long): fix the AI_* setting the message names',
  ModelOutputInvalid: 'the model answered with output that does not match the schema, also after one repair attempt',
  BudgetExceeded: "the run's model calls would use more tokens than AI_MAX_TOKENS_PER_RUN",
  AiRateLimited: 'the model endpoint is rate-limiting or overloaded: retried after the delay it asks for, until the step times out',
  // any pipeline
  NotInWorkflow: 'an activity was run outside its workflow (a deployment error)',
} as const satisfies Record<string, string>;

export type FailureType = keyof typeof FAILURE_TYPES;

/** The closed set, for `ApplicationFailure.nonRetryable(message, failure.ObjectNotFound)`. */
export const failure = Object.fromEntries(Object.keys(FAILURE_TYPES).map((type) => [type, type])) as { readonly [T in FailureType]: T };

/** The types Temporal itself ends a run with, as the API reports them. */
export const ENGINE_FAILURE_TYPES = ['Timeout', 'Terminated', 'Cancelled'] as const;
