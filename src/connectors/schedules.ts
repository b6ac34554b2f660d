import {
  type Client,
  type ScheduleDescription,
  type ScheduleOptions,
  type ScheduleOptionsStartWorkflowAction,
  ScheduleNotFoundError,
  type ScheduleSpec,
} from '@temporalio/client';
import type { Config } from '../config.js';
import type { ConnectorRecord } from '../db/connectors.js';
import { startAttributes } from '../contracts/common.js';
import { connectorScheduleId, type ConnectorSyncInput, connectorSyncWorkflow, type ConnectorSyncWorkflow } from '../contracts/connector-sync.js';
import { type ConnectorSchedule, intervalSeconds } from './spec.js';

/**
 * Each connector polls on its own Temporal Schedule. The service keeps no timers: the schedule
 * starts the sync runs, skips a start while the previous sync still runs, and (by default) pauses
 * itself after a failed sync until someone resumes it.
 */

export function scheduleSpec(schedule: ConnectorSchedule): ScheduleSpec {
  if ('every' in schedule) return { intervals: [{ every: intervalSeconds(schedule.every) * 1_000 }] };
  return { cronExpressions: [schedule.cron], timezone: schedule.timezone };
}

function scheduleOptions(config: Pick<Config, 'TEMPORAL_TASK_QUEUE'>, connector: ConnectorRecord): ScheduleOptions<ScheduleOptionsStartWorkflowAction<ConnectorSyncWorkflow>> {
  const input: ConnectorSyncInput = { connectorId: connector.id };
  return {
    scheduleId: connectorScheduleId(connector.id),
    spec: scheduleSpec(connector.schedule),
    action: {
      type: 'startWorkflow',
      workflowType: connectorSyncWorkflow.workflowType,
      // Sync runs are named `connector-sync:<id>-<scheduled time>`: Temporal appends the time.
      workflowId: connectorScheduleId(connector.id),
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      args: [input],
      typedSearchAttributes: startAttributes(connectorSyncWorkflow.pipeline, connector.id),
    },
    policies: {
      overlap: 'SKIP',
      pauseOnFailure: connector.pauseOnFailure,
      // After an outage of the Temporal server, one missed sync is enough: each reads the whole source.
      catchupWindow: '1 minute',
    },
    state: { note: `connector ${connector.name}` },
  };
}

export class ConnectorSchedules {
  constructor(
    private readonly client: Client,
    private readonly config: Pick<Config, 'TEMPORAL_TASK_QUEUE'>,
  ) {}

  async create(connector: ConnectorRecord): Promise<void> {
    await this.client.schedule.create(scheduleOptions(this.config, connector));
  }

  /** Applies a changed definition; the paused state and its note stay as they are. */
  async update(connector: ConnectorRecord): Promise<void> {
    const next = scheduleOptions(this.config, connector);
    await this.client.schedule.getHandle(next.scheduleId).update((previous) => ({
      spec: next.spec,
      action: next.action,
      policies: next.policies,
      state: previous.state,
    }));
  }

  /** Removes the schedule; one already gone is fine. Sync runs in progress go on. */
  async delete(connectorId: string): Promise<void> {
    try {
      await this.client.schedule.getHandle(connectorScheduleId(connectorId)).delete();
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
  }

  describe(connectorId: string): Promise<ScheduleDescription> {
    return this.client.schedule.getHandle(connectorScheduleId(connectorId)).describe();
  }

  /** A sync now, unless one is running (the schedule's overlap policy: skip). */
  async trigger(connectorId: string): Promise<void> {
    await this.client.schedule.getHandle(connectorScheduleId(connectorId)).trigger('SKIP');
  }

  async pause(connectorId: string, note: string): Promise<void> {
    await this.client.schedule.getHandle(connectorScheduleId(connectorId)).pause(note);
  }

  async resume(connectorId: string, note: string): Promise<void> {
    await this.client.schedule.getHandle(connectorScheduleId(connectorId)).unpause(note);
  }
}
