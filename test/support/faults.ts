import { readdir } from 'node:fs/promises';
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import type pg from 'pg';
import type { Config } from '../../src/config.js';
import { condenseHistory } from '../../src/temporal/history.js';

const STARTED = proto.temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;

/** The attempt number of the run's activity `name` while a worker is running it; else undefined. */
export async function runningAttempt(client: Client, workflowId: string, name: string): Promise<number | undefined> {
  const { raw } = await client.workflow.getHandle(workflowId).describe();
  const pending = (raw.pendingActivities ?? []).find((a) => a.activityType?.name === name && a.state === STARTED);
  return pending ? (pending.attempt ?? 1) : undefined;
}

/** Failed attempts so far of the run's pending activity `name` (0 when it is not pending). */
export async function failedAttempts(client: Client, workflowId: string, name: string): Promise<number> {
  const { raw } = await client.workflow.getHandle(workflowId).describe();
  const pending = (raw.pendingActivities ?? []).find((a) => a.activityType?.name === name);
  return pending ? (pending.attempt ?? 1) - 1 : 0;
}

/** What each run is waiting for, for the message of a test that timed out. */
export async function pendingSummary(client: Client, workflowIds: string[]): Promise<string> {
  const lines = await Promise.all(
    workflowIds.map(async (id) => {
      const { status, raw } = await client.workflow.getHandle(id).describe();
      const pending = (raw.pendingActivities ?? []).map((a) => `${a.activityType?.name ?? '?'}#${a.attempt ?? 1} ${a.lastFailure?.message ?? ''}`);
      return `${id}: ${status.name} ${pending.join('; ')}`;
    }),
  );
  return lines.join('\n');
}

/** How many attempts each step of the run took, from its history: { download: 2, … }. */
export async function stepAttempts(client: Client, workflowId: string): Promise<Record<string, number>> {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const attempts: Record<string, number> = {};
  for (const step of condenseHistory(events).steps) attempts[step.name] = Math.max(attempts[step.name] ?? 0, step.attempts);
  return attempts;
}

/** Asset rows per object key, for the "exactly one row" checks. */
export async function assetRows(pool: pg.Pool, bucket: string): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ key: string; n: number }>('SELECT key, count(*)::int AS n FROM assets WHERE bucket = $1 GROUP BY key', [bucket]);
  return new Map(rows.map((r) => [r.key, r.n]));
}

/** Every file under a folder, relative paths; a missing folder is empty. */
export async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  return entries.filter((e) => e.isFile()).map((e) => `${e.parentPath}/${e.name}`.slice(dir.length + 1));
}

/** A worker process's config: the harness's, with overrides (strings, as in the environment). */
export function processConfig(config: Config, overrides: Partial<Record<keyof Config, string>>): Config {
  return { ...config, ...overrides } as Config;
}

/**
 * The database URL with an application name of its own (it wins over the pool's "harvester"),
 * so a test can find the connections of the process under test in pg_stat_activity among those
 * of the other test files.
 */
export function withApplicationName(databaseUrl: string, name: string): string {
  const url = new URL(databaseUrl);
  url.searchParams.set('application_name', name);
  return url.toString();
}
