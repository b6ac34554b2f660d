import type { Log } from '../../scripts/lib/process.js';
import { abortedError, describeError } from '../../scripts/lib/wait.js';

/**
 * What a benchmark has started, undone in the reverse order. Every step runs even when an earlier
 * one fails, so a broken run still stops its servers and drops its schema.
 */
export class Cleanups {
  private readonly steps: { what: string; run: () => Promise<void> }[] = [];

  add(what: string, run: () => Promise<void>): void {
    this.steps.push({ what, run });
  }

  async runAll(log: Log): Promise<void> {
    const errors: unknown[] = [];
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step.run();
      } catch (err) {
        log(`cleanup "${step.what}" failed: ${describeError(err)}`);
        errors.push(err);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'benchmark cleanup failed');
  }
}

/**
 * One Ctrl-C can arrive more than once: the terminal signals the whole foreground group, and npm
 * and tsx also relay it. Repeats this soon after the first are that echo, not a second keypress.
 */
const ECHO_WINDOW_MS = 500;

/**
 * An AbortSignal for Ctrl-C (and SIGTERM): the first one aborts the run so that it cleans up; a
 * second one gives up on cleaning and exits at once (the spawned servers are still killed by
 * scripts/lib/process.ts's exit hook).
 */
export function interruptSignal(log: Log): AbortSignal {
  const controller = new AbortController();
  let firstAt = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      if (Date.now() - firstAt < ECHO_WINDOW_MS) return;
      log(`${signal} again: exiting without cleaning up (the schema and temp folder may be left)`);
      process.exit(130);
    }
    firstAt = Date.now();
    log(`${signal}: stopping the benchmark and cleaning up (${signal} again to exit at once)`);
    controller.abort(new InterruptedError(`interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return controller.signal;
}

class InterruptedError extends Error {
  override name = 'InterruptedError';
}

/** `promise`, unless `signal` aborts first: then the abort reason. */
export function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  const aborted = abortedError(signal);
  if (aborted) return Promise.reject(aborted);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortedError(signal) ?? new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * A benchmark script's main: parse the options (a bad one prints the usage and exits 2), run the
 * benchmark with its cleanups and Ctrl-C signal, and undo everything it started, on success,
 * failure or interruption (exit 130, no figures).
 */
export function benchmarkMain<O>(log: Log, usage: string, parse: (argv: string[]) => O, bench: (options: O, cleanups: Cleanups, signal: AbortSignal) => Promise<void>) {
  return async (): Promise<void> => {
    let options: O;
    try {
      options = parse(process.argv.slice(2));
    } catch (err) {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${usage}\n`);
      process.exitCode = 2;
      return;
    }
    const signal = interruptSignal(log);
    const cleanups = new Cleanups();
    try {
      await bench(options, cleanups, signal);
    } catch (err) {
      // The benchmark's own failure is the one to report; a cleanup failure on top is only logged.
      log(signal.aborted ? 'cleaning up after the interruption' : 'cleaning up after the failure');
      await cleanups.runAll(log).catch((cleanupErr: unknown) => log(`cleanup also failed: ${describeError(cleanupErr)}`));
      if (!signal.aborted) throw err;
      log('interrupted: no figures; everything this run started is stopped and removed');
      process.exitCode = 130;
      return;
    }
    log('cleaning up');
    await cleanups.runAll(log);
  };
}
