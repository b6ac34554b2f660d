/**
 * src/connectors: connector definitions (spec), their Temporal Schedules, the http-csv source check
 * and the SSRF-guarded fetch. The api process manages connectors through this service; the
 * worker's connector activities use the source check and the guard.
 */
import { type Client, isGrpcServiceError, ScheduleNotFoundError } from '@temporalio/client';
import type { Config } from '../config.js';
import type { ConnectorDefinition, ConnectorRecord, CursorRecord, PgConnectorRepository } from '../db/connectors.js';
import type { MappingRecord } from '../db/mappings.js';
import type { MappingSpec } from '../objectify/spec.js';
import { listRuns, type RunListItem } from '../temporal/list.js';
import { checkUrl, parseAllowedHosts } from './safe-fetch.js';
import { connectorScheduleId } from '../contracts/connector-sync.js';
import { ConnectorSchedules } from './schedules.js';
import {
  type ConnectorKind,
  type ConnectorSchedule,
  type CreateConnector,
  HttpCsvConfigSchema,
  S3PrefixConfigSchema,
  type UpdateConnector,
} from './spec.js';

/**
 * Connector management: a Postgres row and a Temporal Schedule that change together. Every change
 * happens inside the row's transaction, schedule first, so a refused schedule leaves no row and a
 * failed commit is undone on the schedule.
 */

export class ConnectorNotFoundError extends Error {
  constructor(readonly connectorId: string) {
    super(`no connector with id ${JSON.stringify(connectorId)}`);
    this.name = 'ConnectorNotFoundError';
  }
}

/** What does not fit: the API answers with the code (src/api/error-codes.ts lists it). */
export type ConnectorRejectedCode = 'invalid_config' | 'invalid_schedule' | 'mapping_not_found' | 'bucket_not_found';

/** A request that is well-formed but names something that does not fit: a mapping, a schedule. */
export class ConnectorRejectedError extends Error {
  constructor(
    readonly code: ConnectorRejectedCode,
    message: string,
  ) {
    super(message);
    this.name = 'ConnectorRejectedError';
  }
}

export interface ConnectorStatus {
  scheduleId: string;
  paused: boolean;
  /** Why the schedule is paused (Temporal writes one after a failed sync), or its description. */
  note: string | null;
  nextRuns: string[];
  /** The newest sync run: running, or the last one to close. */
  lastSync: RunListItem | null;
  recentRuns: RunListItem[];
  cursor: (CursorRecord & { objects?: number }) | null;
}

export type ConnectorView = ConnectorRecord & { scheduleId: string };

export interface ConnectorServiceDependencies {
  connectors: PgConnectorRepository;
  mappings: { register(spec: MappingSpec): Promise<{ mapping: MappingRecord }>; get(id: string): Promise<MappingRecord | undefined> };
  temporal: Client;
  config: Pick<Config, 'TEMPORAL_TASK_QUEUE' | 'TEMPORAL_NAMESPACE' | 'API_KEY' | 'CONNECTOR_ALLOWED_HOSTS'>;
  /** Refuses a missing bucket at creation (s3-prefix). */
  bucketExists(bucket: string): Promise<boolean>;
}

const RECENT_RUNS = 10;

export class ConnectorService {
  private readonly schedules: ConnectorSchedules;
  private readonly allowedHosts: string[];

  constructor(private readonly deps: ConnectorServiceDependencies) {
    this.schedules = new ConnectorSchedules(deps.temporal, deps.config);
    this.allowedHosts = parseAllowedHosts(deps.config.CONNECTOR_ALLOWED_HOSTS);
  }

  async create(request: CreateConnector): Promise<ConnectorView> {
    const definition = await this.definition(request.kind, request);
    let scheduled: ConnectorRecord | undefined;
    try {
      return view(
        await this.deps.connectors.create(definition, async (created) => {
          await this.scheduleCall(() => this.schedules.create(created));
          scheduled = created;
        }),
      );
    } catch (err) {
      // The row did not commit after its schedule was made: take the schedule back.
      if (scheduled) await this.schedules.delete(scheduled.id);
      throw err;
    }
  }

  async update(id: string, request: UpdateConnector): Promise<ConnectorView> {
    let applied: ConnectorRecord | undefined;
    try {
      const record = await this.deps.connectors.update(
        id,
        (current) =>
          this.definition(current.kind, {
            name: request.name ?? current.name,
            schedule: request.schedule ?? current.schedule,
            pauseOnFailure: request.pauseOnFailure ?? current.pauseOnFailure,
            config: request.config ?? current.config,
            mapping: request.mapping ?? current.mappingId ?? undefined,
          }),
        async (previous, next) => {
          await this.scheduleCall(() => this.schedules.update(next));
          applied = previous;
        },
      );
      if (!record) throw new ConnectorNotFoundError(id);
      return view(record);
    } catch (err) {
      if (applied) await this.schedules.update(applied);
      throw err;
    }
  }

  async delete(id: string): Promise<void> {
    let removed: ConnectorRecord | undefined;
    try {
      const deleted = await this.deps.connectors.delete(id, async (record) => {
        await this.schedules.delete(record.id);
        removed = record;
      });
      if (!deleted) throw new ConnectorNotFoundError(id);
    } catch (err) {
      if (removed) await this.schedules.create(removed);
      throw err;
    }
  }

  async get(id: string): Promise<ConnectorView & { status: ConnectorStatus }> {
    const record = await this.require(id);
    const [schedule, cursor, objects, runs] = await Promise.all([
      this.schedules.describe(id).catch((err: unknown) => {
        if (err instanceof ScheduleNotFoundError) return undefined;
        throw err;
      }),
      this.deps.connectors.cursor(id),
      record.kind === 's3-prefix' ? this.deps.connectors.objectCount(id) : Promise.resolve(undefined),
      listRuns(this.deps.temporal, this.deps.config, { pipeline: 'connector-sync', source: id }, { pageSize: RECENT_RUNS }),
    ]);
    return {
      ...view(record),
      status: {
        scheduleId: connectorScheduleId(id),
        paused: schedule?.state.paused ?? false,
        note: schedule?.state.note ?? (schedule ? null : 'the Temporal Schedule is missing; update the connector to recreate it'),
        nextRuns: schedule && !schedule.state.paused ? schedule.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()) : [],
        lastSync: runs.runs[0] ?? null,
        recentRuns: runs.runs,
        cursor: cursor ? { ...cursor, ...(objects !== undefined ? { objects } : {}) } : null,
      },
    };
  }

  async list(limit: number): Promise<ConnectorView[]> {
    return (await this.deps.connectors.list(limit)).map(view);
  }

  /**
   * Starts a sync now through the schedule, unless one is running (then that one is the answer).
   * Answers with the sync's workflow and run ids once the schedule has started it.
   */
  async sync(id: string, timeoutMs = 10_000): Promise<{ workflowId: string | null; runId: string | null; started: boolean }> {
    await this.require(id);
    const before = await this.schedules.describe(id);
    const running = before.info.runningActions.at(-1);
    await this.schedules.trigger(id);
    if (running) return { workflowId: running.workflow.workflowId, runId: running.workflow.firstExecutionRunId, started: false };
    const deadline = Date.now() + timeoutMs;
    for (let delay = 50; Date.now() < deadline; delay = Math.min(delay * 2, 500)) {
      const now = await this.schedules.describe(id);
      const newest = now.info.recentActions.at(-1)?.action.workflow;
      if (now.info.numActionsTaken > before.info.numActionsTaken && newest) return { workflowId: newest.workflowId, runId: newest.firstExecutionRunId, started: true };
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
    return { workflowId: null, runId: null, started: true };
  }

  async pause(id: string, note: string | undefined): Promise<void> {
    await this.require(id);
    await this.schedules.pause(id, note ?? 'paused through the API');
  }

  async resume(id: string, note: string | undefined): Promise<void> {
    await this.require(id);
    await this.schedules.resume(id, note ?? 'resumed through the API');
  }

  private async require(id: string): Promise<ConnectorRecord> {
    const record = await this.deps.connectors.get(id);
    if (!record) throw new ConnectorNotFoundError(id);
    return record;
  }

  /** Checks a request against the world (URL safety, mapping, bucket) and resolves its mapping. */
  private async definition(kind: ConnectorKind, fields: DefinitionFields): Promise<ConnectorDefinition> {
    const { name, schedule, pauseOnFailure } = fields;
    if (kind === 'http-csv') {
      const config = HttpCsvConfigSchema.safeParse(fields.config);
      if (!config.success) throw new ConnectorRejectedError('invalid_config', 'an http-csv connector takes config { url }');
      if (fields.mapping === undefined) throw new ConnectorRejectedError('invalid_config', 'an http-csv connector needs a mapping (a mapping id or an inline spec)');
      checkUrl(config.data.url, this.allowedHosts);
      return { name, kind, schedule, pauseOnFailure, config: config.data, mappingId: await this.mappingId(fields.mapping) };
    }
    const config = S3PrefixConfigSchema.safeParse(fields.config);
    if (!config.success) throw new ConnectorRejectedError('invalid_config', 'an s3-prefix connector takes config { bucket, prefix, suffix? }');
    if (fields.mapping !== undefined) throw new ConnectorRejectedError('invalid_config', 'an s3-prefix connector ingests files and takes no mapping');
    if (!(await this.deps.bucketExists(config.data.bucket))) throw new ConnectorRejectedError('bucket_not_found', `bucket ${config.data.bucket} does not exist or is not readable`);
    return { name, kind, schedule, pauseOnFailure, config: config.data, mappingId: null };
  }

  private async mappingId(mapping: string | MappingSpec): Promise<string> {
    if (typeof mapping !== 'string') return (await this.deps.mappings.register(mapping)).mapping.id;
    if (!(await this.deps.mappings.get(mapping))) throw new ConnectorRejectedError('mapping_not_found', `no mapping with id ${JSON.stringify(mapping)}`);
    return mapping;
  }

  /**
   * Temporal refuses what it cannot schedule (a bad cron expression): the SDK turns the server's
   * "Invalid schedule spec" into a TypeError, other refusals arrive as INVALID_ARGUMENT.
   */
  private async scheduleCall(call: () => Promise<void>): Promise<void> {
    try {
      await call();
    } catch (err) {
      if (err instanceof TypeError) throw new ConnectorRejectedError('invalid_schedule', `Temporal refused the schedule: ${err.message}`);
      const cause = err instanceof Error && isGrpcServiceError(err.cause) ? err.cause : err;
      if (isGrpcServiceError(cause) && Number(cause.code) === GRPC_INVALID_ARGUMENT) throw new ConnectorRejectedError('invalid_schedule', `Temporal refused the schedule: ${cause.details}`);
      throw err;
    }
  }
}

interface DefinitionFields {
  name: string;
  schedule: ConnectorSchedule;
  pauseOnFailure: boolean;
  config: unknown;
  mapping?: string | MappingSpec | undefined;
}

// gRPC's status code for a request the server refuses as malformed.
const GRPC_INVALID_ARGUMENT = 3;

function view(record: ConnectorRecord): ConnectorView {
  return { ...record, scheduleId: connectorScheduleId(record.id) };
}
