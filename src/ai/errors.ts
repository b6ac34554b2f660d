/**
 * What can go wrong with a model call, in the provider's terms; the analyse activities turn these
 * into Temporal failures (retry after a delay, or a non-retryable failure a person acts on).
 */

/** 429, or 503 with a delay: the endpoint asks us to come back later. */
export class ModelRateLimitedError extends Error {
  constructor(message: string, readonly status: number, readonly retryAfterMs: number | undefined) {
    super(message);
    this.name = 'ModelRateLimitedError';
  }
}

/** A client error (400, 401, 403, 404, 422): the same request will be refused again. */
export class ModelRequestRefusedError extends Error {
  constructor(message: string, readonly status: number, readonly code: string | undefined) {
    super(message);
    this.name = 'ModelRequestRefusedError';
  }
}

/** The answer was not the JSON the schema asks for, even after one repair attempt. */
export class ModelOutputInvalidError extends Error {
  constructor(message: string, readonly answerHead: string) {
    super(message);
    this.name = 'ModelOutputInvalidError';
  }
}
