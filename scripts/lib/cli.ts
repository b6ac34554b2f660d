import { ConfigError } from '../../src/config.js';
import type { Log } from './process.js';

/** A progress logger for one script: `[name] message` on stdout. */
export function scriptLog(name: string): Log {
  return (message) => process.stdout.write(`[${name}] ${message}\n`);
}

/**
 * Failures whose message says everything (it carries the process output or the field-by-field
 * config errors); a stack trace would only bury it.
 */
const SELF_EXPLAINING = new Set([ConfigError.name, 'ExitedEarlyError', 'WaitTimeoutError', 'PortInUseError']);

/** Runs a script's main function; any failure is printed and exits non-zero. */
export function runScript(name: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    const text =
      err instanceof Error ? (SELF_EXPLAINING.has(err.name) ? err.message : (err.stack ?? err.message)) : String(err);
    process.stderr.write(`[${name}] failed: ${text}\n`);
    process.exitCode = 1;
  });
}
