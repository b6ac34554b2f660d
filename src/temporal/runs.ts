import {
  type Client,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  type WorkflowExecutionDescription,
} from '@temporalio/client';
import {
  ApplicationFailure,
  CancelledFailure,
  defaultPayloadConverter,
  TemporalFailure,
  TerminatedFailure,
  TimeoutFailure,
  type Workflow,
} from '@temporalio/common';
import type { Config } from '../config.js';
import type { RunUsage } from '../contracts/ai.js';
import { PIPELINE, type RunMemo, STAGE, startAttributes, type WorkflowContract } from '../contracts/common.js';
import { INGEST_STAGE_START } from '../contracts/ingest.js';
import { type RunProgress, runProgressQuery } from '../contracts/runs.js';

export interface StartedRun {
  workflowId: string;
  runId: string;
  /** True when the id already had a run: nothing new was started. */
  duplicate: boolean;
}

export interface StartRunOptions<W extends Workflow> {
  workflowId: string;
  args: Parameters<W>;
  /** Where the run's input comes from (a bucket, a connector id): its HarvesterSource. */
  source: string;
  /** Shown with the run in the Temporal UI and the API. */
  memo?: RunMemo | undefined;
}

/**
 * Starts a run of `workflow` unless its id already has one, running or closed. Returns once the
 * server has durably recorded the start. Duplicates answer with the existing run: that is how
 * repeated deliveries of one event collapse into one run.
 */
export async function startRun<W extends Workflow>(
  client: Client,
  config: Pick<Config, 'TEMPORAL_TASK_QUEUE'>,
  workflow: WorkflowContract<W>,
  options: StartRunOptions<W>,
): Promise<StartedRun> {
  const memo = options.memo && Object.keys(options.memo).length > 0 ? { ...options.memo } : undefined;
  try {
    // StartRunOptions<W> has checked the arguments against the workflow's signature; the SDK's
    // own check is a conditional type that TypeScript cannot resolve for a generic W.
    const handle = await client.workflow.start<Workflow>(workflow.workflowType, {
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      workflowId: options.workflowId,
      args: options.args,
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: startAttributes(workflow.pipeline, options.source),
      memo,
    });
    return { workflowId: options.workflowId, runId: handle.firstExecutionRunId, duplicate: false };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const existing = await client.workflow.getHandle(options.workflowId).describe();
    return { workflowId: options.workflowId, runId: existing.runId, duplicate: true };
  }
}

export interface RunFailure {
  type: string;
  message: string;
  nonRetryable: boolean;
}

export interface RunStatus {
  workflowId: string;
  runId: string;
  pipeline: string;
  status: string;
  stage: string | null;
  progress: number | null;
  /** Pipeline-specific counters while running or at the end (objectify: rows read and rejected, bytes; connector-sync: objects listed, ingested, failed, deleted). */
  counters: Record<string, number> | null;
  startTime: string;
  closeTime: string | null;
  result: unknown;
  failure: RunFailure | null;
  historyLength: number;
  /** Tokens and cost of the run's model calls so far (ingest with a model); null without any. */
  usage: RunUsage | null;
  /** The step running now, with its attempt count and last failure: where retries show. */
  currentStep: { name: string; attempt: number; lastFailure: string | null } | null;
  uiUrl: string;
}

// A query needs a worker; without one it would wait for the server's own timeout.
const QUERY_DEADLINE_MS = 3_000;

/** The status of a workflow's latest run, from Temporal alone: no bookkeeping of our own. */
export async function describeRun(
  client: Client,
  config: Pick<Config, 'TEMPORAL_UI_URL' | 'TEMPORAL_NAMESPACE'>,
  workflowId: string,
): Promise<RunStatus> {
  const handle = client.workflow.getHandle(workflowId);
  const desc = await handle.describe();
  const base = {
    workflowId,
    runId: desc.runId,
    pipeline: desc.typedSearchAttributes.get(PIPELINE) ?? desc.type,
    status: desc.status.name,
    startTime: desc.startTime.toISOString(),
    closeTime: desc.closeTime?.toISOString() ?? null,
    historyLength: desc.historyLength,
    uiUrl: runUiUrl(config, workflowId, desc.runId),
  };
  const recordedStage = desc.typedSearchAttributes.get(STAGE) ?? null;

  if (desc.status.name === 'RUNNING') {
    const step = currentStep(desc);
    const live = await client
      .withDeadline(Date.now() + QUERY_DEADLINE_MS, () => handle.query(runProgressQuery))
      .catch(() => undefined); // no worker polling right now: fall back to the recorded stage
    const refined = live ? refineProgress(live, step) : undefined;
    return {
      ...base,
      stage: live?.stage ?? recordedStage,
      progress: refined?.progress ?? null,
      counters: refined ? countersOf(refined) : null,
      usage: usageIn(refined),
      result: null,
      failure: null,
      currentStep: step ? { name: step.name, attempt: step.attempt, lastFailure: step.lastFailure } : null,
    };
  }

  const closed = client.workflow.getHandle(workflowId, desc.runId, { followRuns: false });
  try {
    const result: unknown = await closed.result();
    const progress = result as ProgressLike | null;
    return {
      ...base,
      stage: progress?.stage ?? recordedStage,
      progress: progress?.progress ?? 1,
      counters: progress ? countersOf(progress) : null,
      usage: usageIn(progress),
      result,
      failure: null,
      currentStep: null,
    };
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    return { ...base, stage: recordedStage, progress: null, counters: null, usage: null, result: null, failure: describeFailure(err), currentStep: null };
  }
}

/** A run's progress as its query or its result tells it: a stage, 0..1 (not every pipeline), and counters of its own. */
type ProgressLike = { stage?: string; progress?: number } & Record<string, unknown>;

// objectify (and an http-csv sync's result): rows and bytes; an s3-prefix sync: objects.
// ingest with a model: its windows.
const COUNTERS = ['rowsRead', 'rowsRejected', 'bytesRead', 'totalBytes', 'listed', 'ingested', 'failed', 'deleted', 'windows', 'windowsDone'] as const;

function usageIn(progress: ProgressLike | null | undefined): RunUsage | null {
  const usage = progress?.usage;
  return typeof usage === 'object' && usage !== null ? (usage as RunUsage) : null;
}

function countersOf(progress: ProgressLike): Record<string, number> | null {
  const entries = COUNTERS.flatMap((name) => (typeof progress[name] === 'number' ? [[name, progress[name]] as const] : []));
  return entries.length > 0 ? Object.fromEntries(entries) : null;
}

export function runUiUrl(config: Pick<Config, 'TEMPORAL_UI_URL' | 'TEMPORAL_NAMESPACE'>, workflowId: string, runId: string): string {
  const base = config.TEMPORAL_UI_URL.replace(/\/+$/, '');
  return `${base}/namespaces/${encodeURIComponent(config.TEMPORAL_NAMESPACE)}/workflows/${encodeURIComponent(workflowId)}/${encodeURIComponent(runId)}/history`;
}

/** The innermost cause says what went wrong; the outer layers only say where. */
export function describeFailure(err: WorkflowFailedError): RunFailure {
  let failure: Error | undefined = err.cause;
  while (failure instanceof TemporalFailure && failure.cause instanceof TemporalFailure) failure = failure.cause;
  if (failure instanceof ApplicationFailure) {
    return { type: failure.type ?? 'Error', message: failure.message, nonRetryable: failure.nonRetryable === true };
  }
  if (failure instanceof TerminatedFailure) return { type: 'Terminated', message: failure.message || 'terminated', nonRetryable: true };
  if (failure instanceof CancelledFailure) return { type: 'Cancelled', message: failure.message || 'cancelled', nonRetryable: true };
  if (failure instanceof TimeoutFailure) return { type: 'Timeout', message: failure.message || `timed out (${failure.timeoutType})`, nonRetryable: false };
  return { type: failure?.name ?? 'Error', message: failure?.message ?? err.message, nonRetryable: false };
}

interface PendingStep {
  name: string;
  attempt: number;
  lastFailure: string | null;
  heartbeat: unknown;
}

function currentStep(desc: WorkflowExecutionDescription): PendingStep | undefined {
  const pending = desc.raw.pendingActivities?.[0];
  if (!pending) return undefined;
  const payload = pending.heartbeatDetails?.payloads?.[0];
  return {
    name: pending.activityType?.name ?? 'activity',
    attempt: pending.attempt ?? 1,
    lastFailure: pending.lastFailure?.message ?? null,
    heartbeat: payload ? defaultPayloadConverter.fromPayload(payload) : undefined,
  };
}

/**
 * Between two workflow updates the running step's heartbeat is fresher: the download's byte count,
 * or the rows and bytes objectify's loadRows has committed.
 */
function refineProgress(live: RunProgress, step: PendingStep | undefined): ProgressLike {
  if (live.stage === 'downloading') {
    const beat = step?.heartbeat as { bytes?: number; totalBytes?: number } | undefined;
    if (!beat?.totalBytes || beat.bytes === undefined) return { ...live };
    const share = INGEST_STAGE_START.extracting - INGEST_STAGE_START.downloading;
    return { ...live, progress: INGEST_STAGE_START.downloading + Math.min(share, (share * beat.bytes) / beat.totalBytes) };
  }
  if (live.stage === 'loading' && step?.name === 'loadRows') {
    const beat = step.heartbeat as { rowsRead?: number; rowsRejected?: number; bytesRead?: number; sizeBytes?: number } | undefined;
    if (!beat?.sizeBytes || beat.bytesRead === undefined || (beat.rowsRead ?? 0) < live.rowsRead) return { ...live };
    return { ...live, progress: Math.min(0.99, (0.99 * beat.bytesRead) / beat.sizeBytes), rowsRead: beat.rowsRead ?? 0, rowsRejected: beat.rowsRejected ?? 0, bytesRead: beat.bytesRead };
  }
  return { ...live };
}
