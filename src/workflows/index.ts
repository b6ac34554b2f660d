/**
 * src/workflows: the pipelines' workflows, deterministic and replayed by Temporal; only the worker
 * process loads them (bundled), plus the replay test and the bundle script. They import only
 * src/contracts and, as types for proxyActivities, src/activities. This module is the bundle's
 * entry point: every workflow type the worker registers.
 */
export { ingest } from './ingest.js';
export { objectify } from './objectify.js';
export { connectorSync } from './connector-sync.js';
