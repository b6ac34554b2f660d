import { setTimeout as delay } from 'node:timers/promises';

export interface WaitForOptions {
  /** Give up after this long. */
  timeoutMs: number;
  /** Pause between attempts; the condition is polled, never waited on with a fixed sleep. */
  intervalMs?: number;
  /** What is being waited for, for the timeout message ("Temporal to answer"). */
  description: string;
  /**
   * Checked before every attempt: returning an error stops the wait at once with it
   * (a server process that exited will never become ready).
   */
  failIf?: () => Error | undefined | Promise<Error | undefined>;
}

export class WaitTimeoutError extends Error {
  constructor(description: string, timeoutMs: number, attempts: number, lastError: unknown) {
    const last = lastError === undefined ? '' : `; last error: ${describeError(lastError)}`;
    super(`Timed out after ${timeoutMs} ms (${attempts} attempts) waiting for ${description}${last}`, {
      cause: lastError,
    });
    this.name = 'WaitTimeoutError';
  }
}

/**
 * Polls `condition` until it returns something other than undefined, null or false, and returns
 * that. A throwing condition counts as "not yet" (a server that is still starting refuses
 * connections); the last error is reported if the deadline passes.
 */
export async function waitFor<T>(
  condition: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: WaitForOptions,
): Promise<T> {
  const { timeoutMs, intervalMs = 100, description, failIf } = options;
  const deadline = Date.now() + timeoutMs;
  let attempts = 0;
  let lastError: unknown;
  for (;;) {
    const fatal = await failIf?.();
    if (fatal) throw fatal;
    attempts += 1;
    try {
      const value = await condition();
      if (value !== undefined && value !== null && value !== false) return value;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() + intervalMs > deadline) {
      throw new WaitTimeoutError(description, timeoutMs, attempts, lastError);
    }
    await delay(intervalMs);
  }
}

export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const cause = err.cause instanceof Error ? ` (cause: ${err.cause.message})` : '';
    return `${err.name}${typeof code === 'string' ? ` ${code}` : ''}: ${err.message}${cause}`;
  }
  return String(err);
}

/** The abort reason as an Error when `signal` has been aborted, for `failIf`. */
export function abortedError(signal: AbortSignal | undefined): Error | undefined {
  if (!signal?.aborted) return undefined;
  return signal.reason instanceof Error ? signal.reason : new Error(`aborted: ${String(signal.reason)}`);
}
