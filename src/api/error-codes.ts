/**
 * The closed set of `error.code`s the API answers with, each with what it means. HttpError takes
 * only these, and the OpenAPI document's Error schema lists them.
 */
import type { ConnectorRejectedCode } from '../connectors/service.js';
import type { EventRejectedCode } from '../events/routing.js';
import type { RunStateCode } from '../temporal/control.js';
import type { StreamRefusedCode } from '../temporal/run-watch.js';

/**
 * The codes domain errors carry. They are declared beside their error classes, which must not
 * import the api; the `satisfies` below fails to compile while one of them is missing here.
 */
type DomainErrorCode = EventRejectedCode | ConnectorRejectedCode | RunStateCode | StreamRefusedCode;

export const ERROR_CODE_MEANINGS = {
  // 400
  invalid_request: 'a path, query, header or JSON body does not match its schema',
  invalid_json: 'a webhook body is not JSON',
  invalid_event: 'a webhook body is JSON but not an S3 notification or an event envelope',
  invalid_page_token: 'the pageToken is not a nextPageToken of this list (with the same filters)',
  invalid_cursor: 'the cursor is not a nextCursor of this list',
  unsafe_url: 'a connector URL points at an address that is not allowed (CONNECTOR_ALLOWED_HOSTS)',
  invalid_config: "a connector's config does not fit its kind",
  invalid_schedule: 'Temporal refused the connector schedule',
  // 401
  unauthorized: 'the bearer token is missing or wrong',
  invalid_signature: 'the webhook signature is missing, malformed, expired or does not match',
  // 404 (and 422 where a request or an event names something missing)
  not_found: 'no route for this method and path',
  workflow_not_found: 'no workflow (or run) with this id',
  object_not_found: 'the S3 object, its version, or an object instance does not exist',
  object_type_not_found: 'no published objects of this type',
  version_not_found: 'no published version with this id',
  dataset_not_found: 'no dataset with this id',
  mapping_not_found: 'no mapping with this id',
  connector_not_found: 'no connector with this id',
  bucket_not_found: 'the bucket does not exist or is not readable',
  asset_not_found: 'no asset with this id, or none for this object version',
  text_not_kept: 'the asset was ingested before its text was kept: ingest the object again',
  // 408 and the ends of a run waited for with ?wait=
  wait_timeout: 'the run was still running when ?wait= ran out',
  run_failed: 'the run waited for failed (422)',
  run_cancelled: 'the run waited for was cancelled (409)',
  run_terminated: 'the run waited for was terminated (409)',
  run_timed_out: 'the run waited for timed out (504)',
  // 409
  already_started: 'a run with this workflow id is already running',
  idempotency_key_reused: 'the Idempotency-Key was used before with a different request',
  connector_name_taken: 'another connector has this name',
  run_closed: 'the run has already closed',
  run_running: 'the run is still running, so it cannot be retried',
  run_not_retryable: 'the run completed (or continued as new), so there is nothing to retry',
  // 416
  range_not_satisfiable: 'the Range starts beyond the end of the text',
  // 413, 415, 422
  payload_too_large: 'the body is above the size limit',
  unsupported_media_type: 'the body is not sent as application/json',
  unknown_event_type: 'no pipeline handles this event_type',
  invalid_payload: "the event's payload does not match its event_type",
  // 503
  too_many_streams: 'this instance has as many open streams as it allows; see Retry-After',
  shutting_down: 'this instance is shutting down; see Retry-After',
  not_ready: 'a dependency (Temporal, Postgres, S3) is not reachable',
  // anything else
  http_error: 'an HTTP-level refusal without a code of its own',
  internal: 'an unexpected error; the request id is in the server log',
} as const satisfies Record<DomainErrorCode, string> & Record<string, string>;

export type ErrorCode = keyof typeof ERROR_CODE_MEANINGS;

export const ERROR_CODES = Object.keys(ERROR_CODE_MEANINGS) as [ErrorCode, ...ErrorCode[]];
