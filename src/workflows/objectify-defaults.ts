// Plain constants shared by the workflows and the api (which must not load workflow modules).

/** A run fails, publishing nothing, above this share of rejected rows (unless the caller says otherwise). */
export const DEFAULT_MAX_REJECT_RATIO = 0.05;
/** Rows per database transaction (unless the caller says otherwise). */
export const DEFAULT_BATCH_ROWS = 5_000;
