import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Lets the event loop run (so an abort requested meanwhile can land), then throws the signal's
 * reason if it was aborted. The analysis is CPU-bound: without this, a cancellation could only be
 * noticed once all the work was done.
 */
export async function checkpoint(signal: AbortSignal | undefined): Promise<void> {
  signal?.throwIfAborted();
  await nextTurn();
  signal?.throwIfAborted();
}
