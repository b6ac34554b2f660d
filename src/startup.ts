import { setTimeout as delay } from 'node:timers/promises';
import { type Config, ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';

/**
 * Start-up: a process waits for what it needs (Temporal, Postgres, S3) before it serves or polls,
 * retrying with a capped backoff for up to STARTUP_TIMEOUT_SECONDS, one log line per failed
 * attempt. When that bound passes it exits with code 1 after one line that names what it could
 * not reach and the setting that points there. No stack trace: the failure is the environment's
 * (a server down, a wrong address), and a stack would only bury the line that says so.
 */

const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 5_000;
/**
 * How long one attempt may take: a gRPC connect to a closed port waits for its whole deadline,
 * so without a cap the first attempt would use up the bound and log nothing before it.
 */
const ATTEMPT_LIMIT_MS = 5_000;
const MIN_ATTEMPT_MS = 1_000;

export interface Attempt {
  /** Aborts when the attempt has taken its time (timeoutMs). */
  signal: AbortSignal;
  timeoutMs: number;
}

/** Something a process must reach before it starts, as the callers know it. */
export interface Dependency<T> {
  /** What it is, for the log: "Temporal", "Postgres", "S3". */
  name: string;
  /** The setting that points at it ("TEMPORAL_ADDRESS") and its value as it may be shown (no password). */
  setting: string;
  target: string;
  /** One attempt to reach it; its result is what untilReachable answers. */
  check(attempt: Attempt): Promise<T>;
}

/** The lines start-up writes: a warning per failed attempt, a fatal one at the end (pino's Logger is one). */
export interface StartupLog {
  warn(fields: Record<string, unknown>, message: string): void;
  fatal(fields: Record<string, unknown>, message: string): void;
}

export interface WaitOptions {
  /** STARTUP_TIMEOUT_SECONDS: no attempt starts after this; 0 tries once. */
  timeoutSeconds: number;
  log: Pick<StartupLog, 'warn'>;
  /** Tests replace the clock and the pause between attempts. */
  now?: () => number;
  sleep?: (ms: number) => Promise<unknown>;
}

/** The bound passed and the dependency was still not reachable. */
export class UnreachableError extends Error {
  override name = 'UnreachableError';
  readonly dependency: string;
  readonly setting: string;
  readonly target: string;

  constructor(dependency: Dependency<unknown>, readonly attempts: number, timeoutSeconds: number, readonly lastError: string) {
    const tries = attempts === 1 ? '1 attempt' : `${attempts} attempts`;
    super(`${label(dependency)} not reachable after ${tries} (STARTUP_TIMEOUT_SECONDS=${timeoutSeconds}): ${lastError}`);
    this.dependency = dependency.name;
    this.setting = dependency.setting;
    this.target = dependency.target;
  }
}

/**
 * Tries `dependency.check` until it succeeds or the bound passes, waiting 1 s, 2 s, 4 s, then 5 s
 * between attempts; answers the check's result. A ConfigError is thrown at once: a wrong
 * setting stays wrong however long one waits.
 */
export async function untilReachable<T>(dependency: Dependency<T>, options: WaitOptions): Promise<T> {
  const { log, now = Date.now, sleep = delay } = options;
  const deadline = now() + options.timeoutSeconds * 1_000;
  for (let attempt = 1; ; attempt += 1) {
    // "Try once" still gives that one attempt its usual time.
    const remaining = options.timeoutSeconds === 0 ? ATTEMPT_LIMIT_MS : deadline - now();
    try {
      return await attemptOnce(dependency, Math.min(ATTEMPT_LIMIT_MS, Math.max(MIN_ATTEMPT_MS, remaining)));
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      const cause = describeCause(err);
      const wait = Math.min(retryDelay(attempt), deadline - now());
      if (wait <= 0) throw new UnreachableError(dependency, attempt, options.timeoutSeconds, cause);
      log.warn(
        { ...fields(dependency), attempt, retryInMs: wait, cause },
        `${label(dependency)} not reachable, retrying in ${seconds(wait)} (attempt ${attempt}): ${cause}`,
      );
      await sleep(wait);
    }
  }
}

/** As untilReachable, for a composition root: when it gives up, the process ends (exitOnStartupFailure). */
export async function reachOrExit<T>(dependency: Dependency<T>, options: WaitOptions & { log: StartupLog }): Promise<T> {
  try {
    return await untilReachable(dependency, options);
  } catch (err) {
    return exitOnStartupFailure(options.log, err);
  }
}

/** loadConfig(), or for a ConfigError one fatal line that lists each field, and exit code 1. */
export function loadConfigOrExit(name: string): Config {
  try {
    return loadConfig();
  } catch (err) {
    // Without a config there is no LOG_LEVEL: a fatal line shows at the default level.
    return exitOnStartupFailure(createLogger({ LOG_LEVEL: 'info' }, name), err);
  }
}

/**
 * Ends a process that could not start with one fatal line and exit code 1, for the failures
 * whose message says everything (an unreachable dependency, a wrong setting). Anything else is
 * a bug: it is thrown on, stack and all.
 */
export function exitOnStartupFailure(log: Pick<StartupLog, 'fatal'>, err: unknown): never {
  if (err instanceof UnreachableError) {
    log.fatal({ dependency: err.dependency, setting: err.setting, target: err.target, attempts: err.attempts, cause: err.lastError }, err.message);
  } else if (err instanceof ConfigError) {
    log.fatal({ issues: err.issues }, err.message);
  } else {
    throw err;
  }
  // pino writes to stdout synchronously: the line is out before the process ends.
  process.exit(1);
}

async function attemptOnce<T>(dependency: Dependency<T>, timeoutMs: number): Promise<T> {
  const signal = AbortSignal.timeout(timeoutMs);
  // A check that ignores the signal still cannot hold the wait beyond its time.
  const timedOut = new Promise<never>((_, reject) => {
    signal.addEventListener('abort', () => reject(new Error(`no answer within ${seconds(timeoutMs)}`)), { once: true });
  });
  return Promise.race([dependency.check({ signal, timeoutMs }), timedOut]);
}

function retryDelay(attempt: number): number {
  return Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (attempt - 1));
}

function label(dependency: Dependency<unknown>): string {
  return `${dependency.name} at ${dependency.target} (${dependency.setting})`;
}

function fields(dependency: Dependency<unknown>): Record<string, string> {
  return { dependency: dependency.name, setting: dependency.setting, target: dependency.target };
}

/** "2 s", "1.5 s", "0.3 s". */
function seconds(ms: number): string {
  return `${Number((ms / 1_000).toFixed(1))} s`;
}

/**
 * The error's message, with its cause's (the Temporal client wraps the gRPC error), or each of
 * an AggregateError's (Node's connect to "localhost" tries ::1 and 127.0.0.1, and its own
 * message is empty).
 */
export function describeCause(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const inner = err instanceof AggregateError ? err.errors.map(describeCause).join('; ') : '';
  const own = err.message || inner || err.name;
  return err.cause === undefined ? own : `${own} (${describeCause(err.cause)})`;
}
