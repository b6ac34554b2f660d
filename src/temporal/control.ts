import { createHash } from 'node:crypto';
import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { defaultPayloadConverter, WorkflowNotFoundError } from '@temporalio/common';
// @temporalio/proto is CommonJS that Node's ESM loader cannot name-import: use its default export.
import proto from '@temporalio/proto';
import type { temporal } from '@temporalio/proto';
import type { Config } from '../config.js';
import { PIPELINE, SOURCE } from '../contracts/common.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const EventType = proto.temporal.api.enums.v1.EventType;

/** Why the run's state refuses the operation: the API answers with the code (src/api/error-codes.ts lists it). */
export type RunStateCode = 'run_closed' | 'run_running' | 'run_not_retryable';

/** The run is not in a state the operation applies to (the API answers 409). */
export class RunStateError extends Error {
  constructor(
    readonly code: RunStateCode,
    readonly status: string,
    message: string,
  ) {
    super(message);
    this.name = 'RunStateError';
  }
}

export interface StopResult {
  workflowId: string;
  runId: string;
  mode: 'cancel' | 'terminate';
  /** CANCEL_REQUESTED: the run is cleaning up and will end CANCELLED; TERMINATED: stopped now. */
  status: 'CANCEL_REQUESTED' | 'TERMINATED';
}

/**
 * Stops the latest run of a workflow. `cancel` is Temporal cancellation: the workflow's running
 * step is cancelled through its heartbeat and the workflow removes what it half-wrote before it
 * ends CANCELLED. `terminate` ends the run at once, with no cleanup: the hard stop.
 */
export async function stopRun(
  client: Client,
  workflowId: string,
  mode: 'cancel' | 'terminate',
  reason: string | undefined,
): Promise<StopResult> {
  const desc = await client.workflow.getHandle(workflowId).describe();
  requireRunning(desc, mode);
  const handle = client.workflow.getHandle(workflowId, desc.runId, { followRuns: false });
  try {
    if (mode === 'cancel') await handle.cancel();
    else await handle.terminate(reason ?? 'terminated through the Harvester API');
  } catch (err) {
    // The run closed between describe() and the request: report it as the closed run it is.
    if (err instanceof WorkflowNotFoundError) requireRunning(await handle.describe(), mode);
    throw err;
  }
  return { workflowId, runId: desc.runId, mode, status: mode === 'cancel' ? 'CANCEL_REQUESTED' : 'TERMINATED' };
}

function requireRunning(desc: WorkflowExecutionDescription, action: string): void {
  if (desc.status.name !== 'RUNNING') {
    throw new RunStateError('run_closed', desc.status.name, `cannot ${action} run ${desc.runId}: it is already ${desc.status.name}`);
  }
}

const RETRYABLE = new Set(['FAILED', 'TIMED_OUT', 'TERMINATED', 'CANCELLED']);

export interface RetryResult {
  /** The workflow of the new run: the same one, except for `new-version`. */
  workflowId: string;
  /** The new run. */
  runId: string;
  previousWorkflowId: string;
  previousRunId: string;
  /**
   * reset: Temporal replays the history up to `fromStep` and runs again from there; restart: the
   * same input from the beginning; new-version: the input no longer exists as it was (an object
   * replaced since), so the run of what replaced it is started, or found if it already exists.
   */
  method: 'reset' | 'restart' | 'new-version';
  /** The step the new run starts from; null when it starts from the beginning. */
  fromStep: string | null;
}

/** The closed run a retry was asked for, as the pipeline that owns it sees it. */
export interface ClosedRun {
  workflowType: string;
  workflowId: string;
  runId: string;
  args: unknown[];
}

/**
 * A pipeline's say on retrying one of its runs: a run to start instead when its input is gone
 * for good (a replaced object), or undefined for the usual reset or restart.
 */
export type RetrySuccessor = (run: ClosedRun) => Promise<{ workflowId: string; runId: string } | undefined>;

/**
 * Runs a failed, timed-out, terminated or cancelled run again. Where the history allows, this is a
 * Temporal reset to the workflow task that scheduled the step that failed (or was running when
 * the run stopped): the steps before it are not repeated. A run with no completed workflow task
 * cannot be reset and is started again from the beginning with the same input.
 */
export async function retryRun(
  client: Client,
  config: Pick<Config, 'TEMPORAL_NAMESPACE' | 'TEMPORAL_TASK_QUEUE'>,
  workflowId: string,
  reason: string | undefined,
  successor?: RetrySuccessor,
): Promise<RetryResult> {
  const desc = await client.workflow.getHandle(workflowId).describe();
  if (!RETRYABLE.has(desc.status.name)) {
    const code = desc.status.name === 'RUNNING' ? 'run_running' : 'run_not_retryable';
    throw new RunStateError(code, desc.status.name, `run ${desc.runId} is ${desc.status.name}; only failed, timed-out, terminated or cancelled runs can be retried`);
  }
  const history = await client.workflow.getHandle(workflowId, desc.runId, { followRuns: false }).fetchHistory();
  const events = history.events ?? [];
  const started = events[0]?.workflowExecutionStartedEventAttributes;
  if (!started) throw new Error(`history of ${workflowId} has no start event`);
  const args = (started.input?.payloads ?? []).map((p) => defaultPayloadConverter.fromPayload(p));

  const instead = await successor?.({ workflowType: desc.type, workflowId, runId: desc.runId, args });
  if (instead) {
    return { ...instead, previousWorkflowId: workflowId, previousRunId: desc.runId, method: 'new-version', fromStep: null };
  }

  const point = resetPoint(events);
  if (point) {
    // The same retry request twice (a double click, a client retry) is one reset, not two.
    const requestId = uuidFrom(`${workflowId}\n${desc.runId}\nretry`);
    const response = await client.workflowService.resetWorkflowExecution({
      namespace: config.TEMPORAL_NAMESPACE,
      workflowExecution: { workflowId, runId: desc.runId },
      workflowTaskFinishEventId: point.eventId,
      reason: reason ?? (point.step ? `retry from step ${point.step}` : 'retry from the start'),
      requestId,
    });
    return { workflowId, runId: response.runId ?? '', previousWorkflowId: workflowId, previousRunId: desc.runId, method: 'reset', fromStep: point.step };
  }

  const handle = await client.workflow.start(desc.type, {
    taskQueue: started.taskQueue?.name ?? config.TEMPORAL_TASK_QUEUE,
    workflowId,
    args,
    // An operator's retry is a deliberate second run of the same id.
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    workflowIdConflictPolicy: 'FAIL',
    typedSearchAttributes: [PIPELINE, SOURCE].flatMap((key) => {
      const value = desc.typedSearchAttributes.get(key);
      return value === undefined ? [] : [{ key, value }];
    }),
    memo: desc.memo,
  });
  return { workflowId, runId: handle.firstExecutionRunId, previousWorkflowId: workflowId, previousRunId: desc.runId, method: 'restart', fromStep: null };
}

type EventId = NonNullable<HistoryEvent['eventId']>;

export interface ResetPoint {
  /** A WorkflowTaskCompleted event: the reset re-runs everything that task decided. */
  eventId: EventId;
  step: string | null;
}

/**
 * Where to reset: the workflow task that scheduled the last step that failed, timed out or was
 * still open when the run ended; without one, the first completed workflow task (a run from the
 * start). Undefined when no workflow task ever completed.
 */
export function resetPoint(events: HistoryEvent[]): ResetPoint | undefined {
  const scheduled = new Map<number, HistoryEvent>();
  const closed = new Set<number>();
  let failedScheduledId: number | undefined;

  for (const event of events) {
    const id = Number(event.eventId);
    switch (event.eventType) {
      case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
      case EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
        scheduled.set(id, event);
        break;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
      case EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
        closed.add(Number(event.activityTaskCompletedEventAttributes?.scheduledEventId ?? event.activityTaskCanceledEventAttributes?.scheduledEventId));
        break;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
        failedScheduledId = Number(event.activityTaskFailedEventAttributes?.scheduledEventId);
        closed.add(failedScheduledId);
        break;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
        failedScheduledId = Number(event.activityTaskTimedOutEventAttributes?.scheduledEventId);
        closed.add(failedScheduledId);
        break;
      case EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED:
        closed.add(Number(event.childWorkflowExecutionCompletedEventAttributes?.initiatedEventId));
        break;
      case EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED:
      case EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT:
      case EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED:
      case EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED: {
        const initiated =
          event.childWorkflowExecutionFailedEventAttributes?.initiatedEventId ??
          event.childWorkflowExecutionTimedOutEventAttributes?.initiatedEventId ??
          event.childWorkflowExecutionTerminatedEventAttributes?.initiatedEventId ??
          event.childWorkflowExecutionCanceledEventAttributes?.initiatedEventId;
        failedScheduledId = Number(initiated);
        closed.add(failedScheduledId);
        break;
      }
    }
  }

  // A step still open when the run was terminated or cancelled is where it stopped.
  const open = [...scheduled.keys()].filter((id) => !closed.has(id));
  const target = open.length > 0 ? Math.max(...open) : failedScheduledId;
  const step = target === undefined ? undefined : scheduled.get(target);
  if (step) {
    const attrs = step.activityTaskScheduledEventAttributes ?? step.startChildWorkflowExecutionInitiatedEventAttributes;
    const name = step.activityTaskScheduledEventAttributes?.activityType?.name ?? step.startChildWorkflowExecutionInitiatedEventAttributes?.workflowType?.name ?? null;
    const taskId = attrs?.workflowTaskCompletedEventId;
    if (taskId && Number(taskId) > 0) return { eventId: taskId, step: name };
  }
  const first = events.find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  return first?.eventId ? { eventId: first.eventId, step: null } : undefined;
}

/** A UUID-shaped id derived from a string, for Temporal's request-id deduplication. */
function uuidFrom(text: string): string {
  const hex = createHash('sha256').update(text).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
