import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
// @temporalio/proto is CommonJS that Node's ESM loader cannot name-import: use its default export.
import proto from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { condenseHistory } from './history.js';

const HISTORIES = fileURLToPath(new URL('../../test/histories/ingest/', import.meta.url));

async function recorded(name: string) {
  const json = JSON.parse(await readFile(`${HISTORIES}${name}.json`, 'utf8')) as object;
  return proto.temporal.api.history.v1.History.fromObject(json).events;
}

const T0 = Date.parse('2026-01-01T00:00:00.000Z') / 1000;
const at = (second: number) => new Date((T0 + second) * 1000).toISOString();
const json = (value: unknown) => ({ metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from(JSON.stringify(value)).toString('base64') });

/**
 * Synthetic events in the same protobuf JSON form the recorded histories use: `[eventId, second, attributes]`,
 * the attribute key naming the event type.
 */
function history(...events: Array<[number, number, Record<string, object>]>) {
  return proto.temporal.api.history.v1.History.fromObject({
    events: events.map(([eventId, second, attributes]) => {
      const key = Object.keys(attributes)[0] ?? '';
      const type = key.replace(/EventAttributes$/, '').replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
      return { eventId: String(eventId), eventTime: { seconds: String(T0 + second) }, eventType: `EVENT_TYPE_${type}`, ...attributes };
    }),
  }).events;
}

const started = (extra: object = {}) => ({ workflowExecutionStartedEventAttributes: { workflowType: { name: 'ingest' }, firstExecutionRunId: 'run-1', ...extra } });
const scheduled = (activityId: string, name: string) => ({ activityTaskScheduledEventAttributes: { activityId, activityType: { name } } });

describe('condenseHistory on recorded ingest runs', () => {
  it('reads a completed run: five steps of one attempt each, every stage, the close', async () => {
    const h = condenseHistory(await recorded('completed-text'));
    expect(h.steps.map((s) => [s.name, s.outcome, s.attempts, s.lastFailure])).toEqual([
      ['download', 'completed', 1, null],
      ['extract', 'completed', 1, null],
      ['analyse', 'completed', 1, null],
      ['persist', 'completed', 1, null],
      ['cleanup', 'completed', 1, null],
    ]);
    for (const step of h.steps) {
      expect(step.kind).toBe('activity');
      expect(Date.parse(step.lastStartTime ?? '')).toBeGreaterThanOrEqual(Date.parse(step.scheduledTime));
      expect(step.durationMs).toBe(Date.parse(step.closeTime ?? '') - Date.parse(step.scheduledTime));
    }
    expect(h.stages.map((s) => s.stage)).toEqual(expect.arrayContaining(['downloading', 'extracting', 'analysing', 'persisting', 'completed']));
    expect(h.stages.at(-1)?.stage).toBe('completed');
    expect(h.start).toMatchObject({ workflowType: 'ingest', continuedFromRunId: null, resetFromRunId: null, parent: null });
    expect(h.close).toMatchObject({ status: 'COMPLETED', failure: null, continuedAsNewToRunId: null });
    expect(h.durationMs).toBeGreaterThan(0);
    expect(h.eventCount).toBeGreaterThan(30);
  });

  it('names the failing step and the reason for a corrupt file', async () => {
    const h = condenseHistory(await recorded('failed-corrupt-pdf'));
    expect(h.steps.map((s) => [s.name, s.outcome])).toEqual([['download', 'completed'], ['extract', 'failed'], ['cleanup', 'completed']]);
    expect(h.steps[1]?.lastFailure).toMatch(/^unreadable pdf file .*corrupt pdf/);
    // The run's failure is the activity's reason, not the wrapper's "Activity task failed".
    expect(h.close?.status).toBe('FAILED');
    expect(h.close?.failure).toBe(h.steps[1]?.lastFailure);
  });

  it('names the missing object', async () => {
    const h = condenseHistory(await recorded('failed-object-not-found'));
    expect(h.steps[0]).toMatchObject({ name: 'download', outcome: 'failed', attempts: 1 });
    expect(h.steps[0]?.lastFailure).toMatch(/not found \(NoSuchKey\)/);
  });
});

describe('condenseHistory on synthetic events', () => {
  it('folds retries into one step: the attempt count and the last failure come from the started event', () => {
    const h = condenseHistory(
      history(
        [1, 0, started()],
        [5, 1, scheduled('1', 'analyse')],
        [6, 9, { activityTaskStartedEventAttributes: { scheduledEventId: '5', attempt: 3, lastFailure: { message: 'provider answered 503' } } }],
        [7, 10, { activityTaskCompletedEventAttributes: { scheduledEventId: '5', startedEventId: '6' } }],
      ),
    );
    expect(h.steps).toEqual([
      {
        kind: 'activity',
        name: 'analyse',
        id: '1',
        attempts: 3,
        scheduledTime: at(1),
        lastStartTime: at(9),
        closeTime: at(10),
        durationMs: 9000,
        outcome: 'completed',
        lastFailure: 'provider answered 503',
        cancelRequestedTime: null,
      },
    ]);
    expect(h.close).toBeNull();
    expect(h.durationMs).toBeNull();
  });

  it('takes a running step\'s attempts and last failure from the pending activities', () => {
    const events = history([1, 0, started()], [5, 1, scheduled('1', 'download')], [9, 2, scheduled('2', 'extract')]);
    const pending = (fields: object) => proto.temporal.api.workflow.v1.PendingActivityInfo.fromObject({ activityId: '1', attempt: 2, lastFailure: { message: 'socket hang up' }, ...fields });
    const backingOff = condenseHistory(events, [pending({ state: 'PENDING_ACTIVITY_STATE_SCHEDULED' })]);
    expect(backingOff.steps[0]).toMatchObject({ attempts: 1, outcome: 'scheduled', lastFailure: 'socket hang up', closeTime: null, durationMs: null });
    expect(backingOff.steps[1]).toMatchObject({ attempts: 0, outcome: 'scheduled' });

    const retrying = condenseHistory(events, [pending({ state: 'PENDING_ACTIVITY_STATE_STARTED', lastStartedTime: { seconds: String(T0 + 4) } })]);
    expect(retrying.steps[0]).toMatchObject({ attempts: 2, outcome: 'running', lastStartTime: at(4), lastFailure: 'socket hang up' });
  });

  it('reports timed-out and cancelled steps', () => {
    const h = condenseHistory(
      history(
        [1, 0, started()],
        [5, 1, scheduled('1', 'download')],
        [6, 31, { activityTaskStartedEventAttributes: { scheduledEventId: '5', attempt: 1 } }],
        [7, 61, { activityTaskTimedOutEventAttributes: { scheduledEventId: '5', failure: { message: 'activity Heartbeat timeout', timeoutFailureInfo: {} } } }],
        [8, 62, scheduled('2', 'analyse')],
        [9, 70, { workflowExecutionCancelRequestedEventAttributes: { identity: 'operator@cli', cause: 'wrong file' } }],
        [10, 70, { activityTaskCancelRequestedEventAttributes: { scheduledEventId: '8' } }],
        [11, 71, { activityTaskCanceledEventAttributes: { scheduledEventId: '8' } }],
        [12, 72, { workflowExecutionCanceledEventAttributes: {} }],
      ),
    );
    expect(h.steps[0]).toMatchObject({ outcome: 'timedOut', lastFailure: 'activity Heartbeat timeout', durationMs: 60_000 });
    expect(h.steps[1]).toMatchObject({ outcome: 'cancelled', attempts: 0, cancelRequestedTime: at(70), closeTime: at(71) });
    expect(h.cancelRequests).toEqual([{ time: at(70), identity: 'operator@cli', cause: 'wrong file' }]);
    expect(h.close).toEqual({ time: at(72), status: 'CANCELLED', failure: null, continuedAsNewToRunId: null });
    expect(h.durationMs).toBe(72_000);
  });

  it('lists timers and signals', () => {
    const h = condenseHistory(
      history(
        [1, 0, started()],
        [5, 1, { timerStartedEventAttributes: { timerId: 't1', startToFireTimeout: { seconds: '5' } } }],
        [6, 2, { workflowExecutionSignaledEventAttributes: { signalName: 'pause', identity: 'api' } }],
        [7, 6, { timerFiredEventAttributes: { timerId: 't1', startedEventId: '5' } }],
        [8, 7, { timerStartedEventAttributes: { timerId: 't2', startToFireTimeout: { seconds: '60', nanos: 500_000_000 } } }],
        [9, 8, { timerCanceledEventAttributes: { timerId: 't2', startedEventId: '8' } }],
        [10, 9, { timerStartedEventAttributes: { timerId: 't3', startToFireTimeout: { seconds: '3600' } } }],
      ),
    );
    expect(h.timers).toEqual([
      { id: 't1', durationMs: 5000, startTime: at(1), closeTime: at(6), outcome: 'fired' },
      { id: 't2', durationMs: 60_500, startTime: at(7), closeTime: at(8), outcome: 'cancelled' },
      { id: 't3', durationMs: 3_600_000, startTime: at(9), closeTime: null, outcome: 'pending' },
    ]);
    expect(h.signals).toEqual([{ name: 'pause', time: at(2), identity: 'api' }]);
  });

  it('follows child workflows through start, failure and close', () => {
    const initiated = (workflowId: string) => ({ startChildWorkflowExecutionInitiatedEventAttributes: { workflowId, workflowType: { name: 'objectify' } } });
    const childStarted = (initiatedEventId: string, runId: string) => ({ childWorkflowExecutionStartedEventAttributes: { initiatedEventId, workflowExecution: { workflowId: 'x', runId } } });
    const h = condenseHistory(
      history(
        [1, 0, started()],
        [5, 1, initiated('child-a')],
        [6, 2, childStarted('5', 'run-a')],
        [7, 3, initiated('child-b')],
        [8, 4, childStarted('7', 'run-b')],
        [9, 5, initiated('child-c')],
        [10, 5, { startChildWorkflowExecutionFailedEventAttributes: { initiatedEventId: '9', cause: 'START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_WORKFLOW_ALREADY_EXISTS' } }],
        [11, 6, initiated('child-d')],
        [12, 7, childStarted('11', 'run-d')],
        [13, 9, { childWorkflowExecutionCompletedEventAttributes: { initiatedEventId: '5', startedEventId: '6' } }],
        [14, 10, {
          childWorkflowExecutionFailedEventAttributes: {
            initiatedEventId: '7',
            failure: { message: 'Child Workflow execution failed', childWorkflowExecutionFailureInfo: {}, cause: { message: 'too many rejects', applicationFailureInfo: {} } },
          },
        }],
        [15, 11, { childWorkflowExecutionTerminatedEventAttributes: { initiatedEventId: '11' } }],
      ),
    );
    expect(h.steps.map((s) => [s.kind, s.id, s.outcome, s.attempts, s.childRunId, s.lastFailure])).toEqual([
      ['childWorkflow', 'child-a', 'completed', 1, 'run-a', null],
      ['childWorkflow', 'child-b', 'failed', 1, 'run-b', 'too many rejects'],
      ['childWorkflow', 'child-c', 'failed', 0, undefined, 'could not start: workflow already exists'],
      ['childWorkflow', 'child-d', 'terminated', 1, 'run-d', null],
    ]);
    expect(h.steps[0]).toMatchObject({ name: 'objectify', scheduledTime: at(1), lastStartTime: at(2), closeTime: at(9), durationMs: 8000 });
  });

  it('shows continue-as-new on both sides of the boundary, and a reset', () => {
    const first = condenseHistory(
      history(
        [1, 0, started()],
        [5, 1, { workflowExecutionContinuedAsNewEventAttributes: { newExecutionRunId: 'run-2', workflowType: { name: 'ingest' } } }],
      ),
    );
    expect(first.close).toEqual({ time: at(1), status: 'CONTINUED_AS_NEW', failure: null, continuedAsNewToRunId: 'run-2' });

    const second = condenseHistory(history([1, 2, started({ continuedExecutionRunId: 'run-1', searchAttributes: { indexedFields: { HarvesterStage: json('queued') } } })]));
    expect(second.start).toMatchObject({ continuedFromRunId: 'run-1', firstRunId: 'run-1', resetFromRunId: null });
    expect(second.stages).toEqual([{ stage: 'queued', time: at(2) }]);

    const reset = condenseHistory(
      history(
        [1, 0, started()],
        [2, 0, { workflowTaskScheduledEventAttributes: {} }],
        [3, 0, { workflowTaskStartedEventAttributes: { scheduledEventId: '2' } }],
        [4, 9, { workflowTaskFailedEventAttributes: { scheduledEventId: '2', cause: 'WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW', baseRunId: 'run-0', newRunId: 'run-1' } }],
        [5, 10, { workflowExecutionTerminatedEventAttributes: { reason: 'stuck' } }],
      ),
    );
    expect(reset.start?.resetFromRunId).toBe('run-0');
    expect(reset.close).toMatchObject({ status: 'TERMINATED', failure: 'stuck' });
  });

  it('reads stage changes from search-attribute upserts and ignores other attributes', () => {
    const upsert = (fields: object) => ({ upsertWorkflowSearchAttributesEventAttributes: { searchAttributes: { indexedFields: fields } } });
    const h = condenseHistory(history([1, 0, started()], [5, 1, upsert({ HarvesterStage: json('downloading') })], [6, 2, upsert({ Other: json('x') })], [7, 3, upsert({ HarvesterStage: json('extracting') })]));
    expect(h.stages).toEqual([{ stage: 'downloading', time: at(1) }, { stage: 'extracting', time: at(3) }]);
  });
});
