import { defaultPayloadConverter } from '@temporalio/common';
// @temporalio/proto is CommonJS that Node's ESM loader cannot name-import: use its default export.
import proto from '@temporalio/proto';
import type { temporal } from '@temporalio/proto';
import { STAGE } from '../contracts/common.js';
import { durationMs, isoTime } from './timestamps.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type PendingActivity = temporal.api.workflow.v1.IPendingActivityInfo;
type Failure = temporal.api.failure.v1.IFailure;
type Payload = temporal.api.common.v1.IPayload;
/** Protobuf's 64-bit integers arrive as Long objects (their toString is the decimal value). */
type Int64 = { toString(): string } | number | null | undefined;

export type StepOutcome = 'completed' | 'failed' | 'timedOut' | 'cancelled' | 'terminated' | 'running' | 'scheduled';

/**
 * One step of a run: an activity or a child workflow, with all its attempts folded in.
 *
 * Temporal records an activity's ActivityTaskStarted event only once, when its last attempt
 * closes, so the start of the first attempt is not in the history: `scheduledTime` (the first
 * attempt cannot start earlier) and `lastStartTime` are what can be told.
 */
export interface HistoryStep {
  kind: 'activity' | 'childWorkflow';
  /** Activity type or child workflow type. */
  name: string;
  /** Activity id, or the child's workflow id. */
  id: string;
  /** Attempts started so far (a step waiting for its first attempt or a retry counts only those begun). */
  attempts: number;
  scheduledTime: string;
  lastStartTime: string | null;
  closeTime: string | null;
  /** From scheduling to close: every attempt and the backoff between them. */
  durationMs: number | null;
  outcome: StepOutcome;
  lastFailure: string | null;
  cancelRequestedTime: string | null;
  /** The child workflow's run, once it has started. */
  childRunId?: string;
}

export interface CondensedHistory {
  eventCount: number;
  start: {
    time: string;
    workflowType: string;
    /** The run this one continued from (continue-as-new, or a retry of the workflow). */
    continuedFromRunId: string | null;
    /** The run this one was reset from, when it is the product of a reset. */
    resetFromRunId: string | null;
    firstRunId: string | null;
    parent: { workflowId: string; runId: string } | null;
  } | null;
  close: {
    time: string;
    status: 'COMPLETED' | 'FAILED' | 'CANCELLED' | 'TERMINATED' | 'TIMED_OUT' | 'CONTINUED_AS_NEW';
    failure: string | null;
    continuedAsNewToRunId: string | null;
  } | null;
  durationMs: number | null;
  steps: HistoryStep[];
  /** Every value the HarvesterStage search attribute took, in order (the start's included). */
  stages: Array<{ stage: string; time: string }>;
  signals: Array<{ name: string; time: string; identity: string | null }>;
  cancelRequests: Array<{ time: string; identity: string | null; cause: string | null }>;
  timers: Array<{ id: string; durationMs: number | null; startTime: string; closeTime: string | null; outcome: 'fired' | 'cancelled' | 'pending' }>;
}

type Timer = CondensedHistory['timers'][number];

/**
 * A history a person can read, built from Temporal's event history alone. Steps are keyed by
 * their scheduling event; `pendingActivities` (describe()'s `raw.pendingActivities`) supplies the
 * attempt count and last failure of steps still running, which the history does not hold yet.
 */
export function condenseHistory(events: readonly HistoryEvent[], pendingActivities: readonly PendingActivity[] = []): CondensedHistory {
  const out: CondensedHistory = { eventCount: events.length, start: null, close: null, durationMs: null, steps: [], stages: [], signals: [], cancelRequests: [], timers: [] };
  const steps = new Map<number, HistoryStep>();
  const timers = new Map<number, Timer>();
  let resetFromRunId: string | null = null;
  const closeStep = (scheduledId: Int64, time: string, outcome: StepOutcome, failure?: Failure | null): void => {
    const step = steps.get(int(scheduledId));
    if (!step) return;
    step.outcome = outcome;
    step.closeTime = time;
    step.durationMs = Date.parse(time) - Date.parse(step.scheduledTime);
    if (failure) step.lastFailure = failureMessage(failure);
  };
  const closeTimer = (startedId: Int64, time: string, outcome: Timer['outcome']): void => {
    const timer = timers.get(int(startedId));
    if (!timer) return;
    timer.outcome = outcome;
    timer.closeTime = time;
  };

  for (const e of events) {
    const time = isoTime(e.eventTime) ?? new Date(0).toISOString();
    const id = int(e.eventId);
    if (e.workflowExecutionStartedEventAttributes) {
      const a = e.workflowExecutionStartedEventAttributes;
      const parent = a.parentWorkflowExecution;
      out.start = {
        time,
        workflowType: a.workflowType?.name ?? 'unknown',
        continuedFromRunId: a.continuedExecutionRunId || null,
        resetFromRunId: null,
        firstRunId: a.firstExecutionRunId || null,
        parent: parent?.workflowId ? { workflowId: parent.workflowId, runId: parent.runId ?? '' } : null,
      };
      const stage = stageOf(a.searchAttributes?.indexedFields);
      if (stage) out.stages.push({ stage, time });
    } else if (e.workflowTaskFailedEventAttributes?.cause === proto.temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW) {
      // A reset run carries the base run's events up to the reset point, then this marker.
      resetFromRunId = e.workflowTaskFailedEventAttributes.baseRunId || null;
    } else if (e.upsertWorkflowSearchAttributesEventAttributes) {
      const stage = stageOf(e.upsertWorkflowSearchAttributesEventAttributes.searchAttributes?.indexedFields);
      if (stage) out.stages.push({ stage, time });
    } else if (e.workflowExecutionSignaledEventAttributes) {
      const a = e.workflowExecutionSignaledEventAttributes;
      out.signals.push({ name: a.signalName ?? '', time, identity: a.identity || null });
    } else if (e.workflowExecutionCancelRequestedEventAttributes) {
      const a = e.workflowExecutionCancelRequestedEventAttributes;
      out.cancelRequests.push({ time, identity: a.identity || null, cause: a.cause || null });
    } else if (e.timerStartedEventAttributes) {
      const a = e.timerStartedEventAttributes;
      const timer: Timer = { id: a.timerId ?? '', durationMs: durationMs(a.startToFireTimeout), startTime: time, closeTime: null, outcome: 'pending' };
      timers.set(id, timer);
      out.timers.push(timer);
    } else if (e.timerFiredEventAttributes) {
      closeTimer(e.timerFiredEventAttributes.startedEventId, time, 'fired');
    } else if (e.timerCanceledEventAttributes) {
      closeTimer(e.timerCanceledEventAttributes.startedEventId, time, 'cancelled');
    } else if (e.activityTaskScheduledEventAttributes) {
      const a = e.activityTaskScheduledEventAttributes;
      steps.set(id, newStep('activity', a.activityType?.name ?? 'activity', a.activityId ?? '', time));
    } else if (e.activityTaskStartedEventAttributes) {
      const a = e.activityTaskStartedEventAttributes;
      const step = steps.get(int(a.scheduledEventId));
      if (step) {
        // Written once, when the last attempt closes: it carries the count and the previous failure.
        step.attempts = a.attempt ?? 1;
        step.lastStartTime = time;
        step.outcome = 'running';
        if (a.lastFailure) step.lastFailure = failureMessage(a.lastFailure);
      }
    } else if (e.activityTaskCompletedEventAttributes) {
      closeStep(e.activityTaskCompletedEventAttributes.scheduledEventId, time, 'completed');
    } else if (e.activityTaskFailedEventAttributes) {
      closeStep(e.activityTaskFailedEventAttributes.scheduledEventId, time, 'failed', e.activityTaskFailedEventAttributes.failure);
    } else if (e.activityTaskTimedOutEventAttributes) {
      closeStep(e.activityTaskTimedOutEventAttributes.scheduledEventId, time, 'timedOut', e.activityTaskTimedOutEventAttributes.failure);
    } else if (e.activityTaskCancelRequestedEventAttributes) {
      const step = steps.get(int(e.activityTaskCancelRequestedEventAttributes.scheduledEventId));
      if (step) step.cancelRequestedTime = time;
    } else if (e.activityTaskCanceledEventAttributes) {
      closeStep(e.activityTaskCanceledEventAttributes.scheduledEventId, time, 'cancelled');
    } else if (e.startChildWorkflowExecutionInitiatedEventAttributes) {
      const a = e.startChildWorkflowExecutionInitiatedEventAttributes;
      steps.set(id, newStep('childWorkflow', a.workflowType?.name ?? 'workflow', a.workflowId ?? '', time));
    } else if (e.startChildWorkflowExecutionFailedEventAttributes) {
      const a = e.startChildWorkflowExecutionFailedEventAttributes;
      closeStep(a.initiatedEventId, time, 'failed', { message: `could not start: ${startFailedCause(a.cause)}` });
    } else if (e.childWorkflowExecutionStartedEventAttributes) {
      const a = e.childWorkflowExecutionStartedEventAttributes;
      const step = steps.get(int(a.initiatedEventId));
      if (step) {
        // A child's own retries are runs of the child, visible in its history, not here.
        step.attempts = 1;
        step.lastStartTime = time;
        step.outcome = 'running';
        if (a.workflowExecution?.runId) step.childRunId = a.workflowExecution.runId;
      }
    } else if (e.childWorkflowExecutionCompletedEventAttributes) {
      closeStep(e.childWorkflowExecutionCompletedEventAttributes.initiatedEventId, time, 'completed');
    } else if (e.childWorkflowExecutionFailedEventAttributes) {
      closeStep(e.childWorkflowExecutionFailedEventAttributes.initiatedEventId, time, 'failed', e.childWorkflowExecutionFailedEventAttributes.failure);
    } else if (e.childWorkflowExecutionCanceledEventAttributes) {
      closeStep(e.childWorkflowExecutionCanceledEventAttributes.initiatedEventId, time, 'cancelled');
    } else if (e.childWorkflowExecutionTimedOutEventAttributes) {
      closeStep(e.childWorkflowExecutionTimedOutEventAttributes.initiatedEventId, time, 'timedOut');
    } else if (e.childWorkflowExecutionTerminatedEventAttributes) {
      closeStep(e.childWorkflowExecutionTerminatedEventAttributes.initiatedEventId, time, 'terminated');
    } else {
      const close = closeOf(e);
      if (close) out.close = { time, ...close };
    }
  }

  if (out.start) {
    out.start.resetFromRunId = resetFromRunId;
    if (out.close) out.durationMs = Date.parse(out.close.time) - Date.parse(out.start.time);
  }
  out.steps = [...steps.values()];
  for (const pending of pendingActivities) applyPending(out.steps, pending);
  return out;
}

function newStep(kind: HistoryStep['kind'], name: string, id: string, time: string): HistoryStep {
  return { kind, name, id, attempts: 0, scheduledTime: time, lastStartTime: null, closeTime: null, durationMs: null, outcome: 'scheduled', lastFailure: null, cancelRequestedTime: null };
}

/** A step still open in the history takes its attempt and last failure from the server's pending info. */
function applyPending(steps: HistoryStep[], pending: PendingActivity): void {
  const step = steps.find((s) => s.kind === 'activity' && s.id === pending.activityId && s.closeTime === null);
  if (!step) return;
  const attempt = pending.attempt ?? 1;
  const started = pending.state !== proto.temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED;
  // While waiting for a retry, the attempt named is the next one: it has not begun.
  step.attempts = started ? attempt : attempt - 1;
  step.outcome = started ? 'running' : 'scheduled';
  step.lastStartTime = isoTime(pending.lastStartedTime) ?? step.lastStartTime;
  if (pending.lastFailure) step.lastFailure = failureMessage(pending.lastFailure);
}

function closeOf(e: HistoryEvent): Omit<NonNullable<CondensedHistory['close']>, 'time'> | undefined {
  const none = { failure: null, continuedAsNewToRunId: null };
  if (e.workflowExecutionCompletedEventAttributes) return { ...none, status: 'COMPLETED' };
  if (e.workflowExecutionFailedEventAttributes) {
    const failure = e.workflowExecutionFailedEventAttributes.failure;
    return { ...none, status: 'FAILED', failure: failure ? failureMessage(failure) : 'failed' };
  }
  if (e.workflowExecutionCanceledEventAttributes) return { ...none, status: 'CANCELLED' };
  if (e.workflowExecutionTerminatedEventAttributes) {
    return { ...none, status: 'TERMINATED', failure: e.workflowExecutionTerminatedEventAttributes.reason || 'terminated' };
  }
  if (e.workflowExecutionTimedOutEventAttributes) return { ...none, status: 'TIMED_OUT', failure: 'workflow timed out' };
  if (e.workflowExecutionContinuedAsNewEventAttributes) {
    return { ...none, status: 'CONTINUED_AS_NEW', continuedAsNewToRunId: e.workflowExecutionContinuedAsNewEventAttributes.newExecutionRunId || null };
  }
  return undefined;
}

/** The wrappers an activity or child failure comes in only say where; the cause says what. */
export function failureMessage(failure: Failure): string {
  let f = failure;
  while ((f.activityFailureInfo || f.childWorkflowExecutionFailureInfo) && f.cause) f = f.cause;
  return f.message || 'failed';
}

function stageOf(fields: Record<string, Payload> | null | undefined): string | undefined {
  const payload = fields?.[STAGE.name];
  if (!payload) return undefined;
  const value: unknown = defaultPayloadConverter.fromPayload(payload);
  return typeof value === 'string' ? value : undefined;
}

function int(value: Int64): number {
  return value == null ? 0 : Number(value.toString());
}

/** START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_WORKFLOW_ALREADY_EXISTS → "workflow already exists". */
function startFailedCause(cause: number | null | undefined): string {
  const name = Object.entries(proto.temporal.api.enums.v1.StartChildWorkflowExecutionFailedCause).find(([, v]) => v === cause)?.[0];
  return name ? name.replace(/^START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_/, '').toLowerCase().replace(/_/g, ' ') : 'unknown cause';
}
