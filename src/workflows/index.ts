// The workflow bundle's entry point: every workflow type the worker registers.
export { ingest } from './ingest.js';
export { objectify } from './objectify.js';
export { connectorSync } from './connector-sync.js';
