import { cpus } from 'node:os';
import type { Log } from '../../scripts/lib/process.js';
import { describeError } from '../../scripts/lib/wait.js';

/**
 * Calls `report` every `ms` until the returned function is called. An async report that is still
 * running when the next tick comes is not started twice (a slow status query must not pile up).
 */
export function ticker(ms: number, report: () => void | Promise<void>, log?: Log): () => void {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    Promise.resolve()
      .then(report)
      .catch((err: unknown) => log?.(`progress report failed: ${describeError(err)}`))
      .finally(() => (busy = false));
  }, ms);
  return () => clearInterval(timer);
}

/** Milliseconds since `start` (a performance.now() reading). */
export function since(start: number): number {
  return performance.now() - start;
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function fmtMiB(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export function fmtSeconds(ms: number): string {
  return (ms / 1000).toFixed(ms < 10_000 ? 2 : 1);
}

export interface PhaseResult {
  phase: string;
  rows: number;
  ms: number;
  bytes?: number;
  note?: string;
}

/** A plain-text table: phase, rows, seconds, rows/s, MiB/s. */
export function phaseTable(results: readonly PhaseResult[]): string {
  const header = ['phase', 'rows', 'seconds', 'rows/s', 'MiB/s', ''];
  const rows = results.map((r) => [
    r.phase,
    fmtInt(r.rows),
    fmtSeconds(r.ms),
    fmtInt(r.rows / (r.ms / 1000)),
    r.bytes === undefined ? '' : (r.bytes / 1024 / 1024 / (r.ms / 1000)).toFixed(1),
    r.note ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  // Text columns left-aligned, numbers right-aligned.
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** "objectify is 0.21× COPY's throughput (4.8× slower)". */
export function ratioLine(subject: { name: string; result: PhaseResult }, baseline: { name: string; result: PhaseResult }): string {
  const rate = (r: PhaseResult): number => r.rows / r.ms;
  const ratio = rate(subject.result) / rate(baseline.result);
  const relation = ratio < 1 ? `${(1 / ratio).toFixed(1)}× slower` : `${ratio.toFixed(1)}× faster`;
  return `${subject.name} is ${ratio.toFixed(2)}× ${baseline.name}'s throughput (${relation})`;
}

export function machineLine(): string {
  const cores = cpus();
  const model = cores[0]?.model.trim() ?? 'unknown CPU';
  return `${cores.length} cores (${model}), Node ${process.version}, ${process.platform}/${process.arch}`;
}
