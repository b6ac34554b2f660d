import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Lets the event loop run (so an abort requested meanwhile can land), then throws the signal's
 * reason if it was aborted. Loops over large input call this every few thousand steps.
 */
export async function checkpoint(signal: AbortSignal | undefined): Promise<void> {
  signal?.throwIfAborted();
  await nextTurn();
  signal?.throwIfAborted();
}
