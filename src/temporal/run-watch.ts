import { setTimeout as delay } from 'node:timers/promises';
import { type Client, isGrpcServiceError, WorkflowNotFoundError } from '@temporalio/client';
// @temporalio/proto is CommonJS that Node's ESM loader cannot name-import: use its default export.
import proto from '@temporalio/proto';
import type { temporal } from '@temporalio/proto';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { Sub, type Subscription, type WatchEvent } from './run-subscription.js';
import { describeRun, type RunStatus } from './runs.js';

export type { Subscription, WatchEvent };

/** Why no stream is opened: the API answers with the code (src/api/error-codes.ts lists it). */
export type StreamRefusedCode = 'too_many_streams' | 'shutting_down';

/** No stream now: the process is at its cap, or shutting down. Either way, retry (elsewhere). */
export class StreamRefusedError extends Error {
  constructor(readonly code: StreamRefusedCode, message: string) {
    super(message);
    this.name = 'StreamRefusedError';
  }
}

export interface RunWatchOptions {
  /** Open subscriptions allowed in this process; more are refused with StreamRefusedError. */
  maxSubscribers?: number;
  /**
   * Steps whose heartbeats carry progress within a stage (the download's byte count). Heartbeats
   * are not history events, so while one of these runs the watcher also re-reads the status.
   */
  progressSteps?: readonly string[];
  progressRefreshMs?: number;
  /** How often a stream sends an SSE comment so proxies keep an idle connection open. */
  keepAliveMs?: number;
  log?: Logger;
}

export const DEFAULT_MAX_SUBSCRIBERS = 1000;
const MAX_RETRY_DELAY_MS = 30_000;
const GRPC_NOT_FOUND = 5;
// History events that end a run, and workflow-task bookkeeping (which changes nothing a client sees).
const CLOSE_ATTRIBUTES = (['Completed', 'Failed', 'Canceled', 'Terminated', 'TimedOut', 'ContinuedAsNew'] as const).map(
  (kind) => `workflowExecution${kind}EventAttributes` as const,
);
const WORKFLOW_TASK_ATTRIBUTES = (['Scheduled', 'Started', 'Completed', 'TimedOut'] as const).map((kind) => `workflowTask${kind}EventAttributes` as const);

type HistoryPage = temporal.api.workflowservice.v1.IGetWorkflowExecutionHistoryResponse;
type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/**
 * One watcher per workflow id in this process, shared by all its subscribers: N streams on one
 * run cost one long poll. A watcher waits on Temporal's history long poll, which the server
 * answers when an event is appended (every stage change is a search-attribute upsert, every step
 * close an event), and re-reads the status only then.
 */
export class RunWatchHub {
  readonly maxSubscribers: number;
  readonly progressSteps: ReadonlySet<string>;
  readonly progressRefreshMs: number;
  readonly keepAliveMs: number;
  readonly log: Logger | undefined;
  private readonly watchers = new Map<string, Watcher>();
  private subscribers = 0;
  private closed = false;

  constructor(
    readonly client: Client,
    readonly config: Pick<Config, 'TEMPORAL_NAMESPACE' | 'TEMPORAL_UI_URL'>,
    options: RunWatchOptions = {},
  ) {
    this.maxSubscribers = options.maxSubscribers ?? DEFAULT_MAX_SUBSCRIBERS;
    this.progressSteps = new Set(options.progressSteps ?? ['download', 'loadRows']);
    this.progressRefreshMs = options.progressRefreshMs ?? 1000;
    this.keepAliveMs = options.keepAliveMs ?? 15_000;
    this.log = options.log;
  }

  /** Watchers running now: one per watched workflow id. */
  get watcherCount(): number {
    return this.watchers.size;
  }

  /** Open subscriptions, counted against `maxSubscribers`. */
  get subscriberCount(): number {
    return this.subscribers;
  }

  /**
   * Resolves once the first event is ready to send, so an unknown id rejects (WorkflowNotFoundError)
   * before any byte of a stream is written.
   */
  async subscribe(workflowId: string): Promise<Subscription> {
    if (this.closed) throw new StreamRefusedError('shutting_down', 'the server is shutting down; retry on another instance');
    if (this.subscribers >= this.maxSubscribers) {
      throw new StreamRefusedError('too_many_streams', `the server already has ${this.maxSubscribers} open streams; retry later`);
    }
    const watcher = this.watchers.get(workflowId) ?? this.startWatcher(workflowId);
    this.subscribers += 1;
    const sub = new Sub(() => {
      this.subscribers -= 1;
      watcher.remove(sub);
    });
    watcher.add(sub);
    try {
      await watcher.ready;
    } catch (err) {
      sub.close();
      throw err;
    }
    return sub;
  }

  /** Ends every stream and stops every watcher (SIGTERM); EventSource clients reconnect elsewhere. */
  close(): void {
    this.closed = true;
    for (const watcher of [...this.watchers.values()]) watcher.stop();
  }

  /** @internal A watcher that stopped; the next subscriber to its id starts a new one. */
  forget(watcher: Watcher): void {
    if (this.watchers.get(watcher.workflowId) === watcher) this.watchers.delete(watcher.workflowId);
  }

  private startWatcher(workflowId: string): Watcher {
    const watcher = new Watcher(this, workflowId);
    this.watchers.set(workflowId, watcher);
    void watcher.run().finally(() => this.forget(watcher));
    return watcher;
  }
}

class Watcher {
  readonly ready: Promise<void>;
  private readonly subs = new Set<Sub>();
  private readonly abort = new AbortController();
  private latest: WatchEvent | undefined;
  private latestKey = '';
  private settleReady!: (err?: Error) => void;

  constructor(
    private readonly hub: RunWatchHub,
    readonly workflowId: string,
  ) {
    this.ready = new Promise<void>((resolve, reject) => {
      this.settleReady = (err) => (err === undefined ? resolve() : reject(err));
    });
    // Nobody may be awaiting `ready` when it fails (the last subscriber already left).
    this.ready.catch(() => undefined);
  }

  add(sub: Sub): void {
    this.subs.add(sub);
    if (this.latest) sub.push(this.latest);
  }

  remove(sub: Sub): void {
    this.subs.delete(sub);
    if (this.subs.size === 0) this.stop();
  }

  /** Stops watching; subscribers' iterations end without a close event. */
  stop(err: Error = new StreamRefusedError('shutting_down', 'the watch was stopped')): void {
    this.hub.forget(this);
    this.abort.abort();
    this.settleReady(err);
    for (const sub of this.subs) sub.end();
  }

  async run(): Promise<void> {
    for (let failures = 1; !this.abort.signal.aborted; failures += 1) {
      try {
        return await this.follow();
      } catch (err) {
        if (this.abort.signal.aborted) return;
        // Before the first event the subscriber is still waiting for its HTTP answer: it gets the error.
        if (this.latest === undefined || isNotFound(err)) return this.fail(err);
        const retryInMs = Math.min(MAX_RETRY_DELAY_MS, 500 * 2 ** failures);
        this.hub.log?.warn({ err, workflowId: this.workflowId, retryInMs }, 'run watch failed; retrying');
        // An abort (last subscriber gone, shutdown) ends the wait early; the loop then exits.
        await delay(retryInMs, undefined, { signal: this.abort.signal }).catch(() => undefined);
      }
    }
  }

  /** Follows the workflow id's latest run, across continue-as-new, until a run closes for good. */
  private async follow(): Promise<void> {
    let snap = await this.snapshot();
    while (snap.status === 'RUNNING') {
      const runId = snap.runId;
      snap = await this.watchRun(snap);
      // describe() is consistent with the history; guard against a tight loop regardless.
      if (snap.status === 'RUNNING' && snap.runId === runId) throw new Error(`run ${runId} closed but is described as running`);
    }
    const { workflowId, runId, status, stage, progress, result, failure, closeTime } = snap;
    this.publish({ type: 'close', data: { workflowId, runId, status, stage, progress, result, failure, closeTime } });
    this.stop();
  }

  /** Long-polls one run's history; returns the status read after that run closed. */
  private async watchRun(first: RunStatus): Promise<RunStatus> {
    const runId = first.runId;
    let snap = first;
    let poll = this.poll(runId, undefined);
    for (;;) {
      const page = await this.nextPage(poll, snap);
      if (page === 'refresh') {
        snap = await this.snapshot();
        continue;
      }
      const events = page.history?.events ?? [];
      const closed = events.some((e) => CLOSE_ATTRIBUTES.some((key) => e[key]));
      const lastEventId = Number(events.at(-1)?.eventId?.toString() ?? 0);
      // Workflow-task bookkeeping, and pages the last status already covered (the catch-up after a
      // start), tell a client nothing new: neither costs a describe.
      const news = events.some((e) => !WORKFLOW_TASK_ATTRIBUTES.some((key) => e[key])) && (snap.runId !== runId || lastEventId > snap.historyLength);
      if (closed || news) snap = await this.snapshot();
      if (closed || !page.nextPageToken?.length) return snap;
      poll = this.poll(runId, page.nextPageToken);
    }
  }

  /** The next history page; while a progress-reporting step runs, 'refresh' every so often too. */
  private async nextPage(poll: Promise<Settled<HistoryPage>>, snap: RunStatus): Promise<HistoryPage | 'refresh'> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const refresh = new Promise<'refresh'>((resolve) => {
      if (snap.currentStep && this.hub.progressSteps.has(snap.currentStep.name)) timer = setTimeout(() => resolve('refresh'), this.hub.progressRefreshMs);
    });
    try {
      const first = await Promise.race([poll, refresh]);
      if (first === 'refresh') return first;
      if (!first.ok) throw first.error;
      return first.value;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Never rejects, so a poll left pending behind a refresh cannot become an unhandled rejection. */
  private poll(runId: string, nextPageToken: Uint8Array | undefined): Promise<Settled<HistoryPage>> {
    const { client, config } = this.hub;
    const request = {
      namespace: config.TEMPORAL_NAMESPACE,
      execution: { workflowId: this.workflowId, runId },
      nextPageToken,
      waitNewEvent: true,
      historyEventFilterType: proto.temporal.api.enums.v1.HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT,
      skipArchival: true,
    };
    return this.abortable(() => client.workflowService.getWorkflowExecutionHistory(request)).then(
      (value): Settled<HistoryPage> => ({ ok: true, value }),
      (error: unknown): Settled<HistoryPage> => ({ ok: false, error }),
    );
  }

  private async snapshot(): Promise<RunStatus> {
    const { client, config } = this.hub;
    const snap = await this.abortable(() => describeRun(client, config, this.workflowId));
    if (snap.status === 'RUNNING') {
      const { workflowId, runId, status, stage, progress, counters, currentStep } = snap;
      this.publish({ type: 'progress', data: { workflowId, runId, status, stage, progress, counters, currentStep } });
    }
    return snap;
  }

  /**
   * Runs Temporal calls that the watcher's stop cancels. The SDK adds an abort listener per call and
   * never removes it, so each call gets a signal of its own rather than piling them onto the watcher's.
   */
  private async abortable<T>(fn: () => Promise<T>): Promise<T> {
    const call = new AbortController();
    const cancel = (): void => call.abort();
    this.abort.signal.addEventListener('abort', cancel, { once: true });
    try {
      return await this.hub.client.withAbortSignal(call.signal, fn);
    } finally {
      this.abort.signal.removeEventListener('abort', cancel);
    }
  }

  private fail(err: unknown): void {
    // A subscriber still waiting for its HTTP answer gets the error itself (a 404, say), not an event.
    const error = err instanceof Error ? err : new Error(String(err));
    this.settleReady(error);
    if (this.latest !== undefined) this.hub.log?.warn({ err, workflowId: this.workflowId }, 'run watch gave up');
    const gone = isNotFound(err);
    this.publish({ type: 'error', data: gone ? { code: 'workflow_not_found', message: 'the workflow no longer exists' } : { code: 'watch_failed', message: 'the run can no longer be followed' } });
    this.stop(error);
  }

  private publish(event: WatchEvent): void {
    // Only changes go out: a wake-up for an event that moved nothing a client sees stays silent.
    const key = JSON.stringify(event);
    if (key === this.latestKey) return;
    this.latestKey = key;
    this.latest = event;
    for (const sub of this.subs) sub.push(event);
    this.settleReady();
  }
}

function isNotFound(err: unknown): boolean {
  return err instanceof WorkflowNotFoundError || (isGrpcServiceError(err) && (err.code as number) === GRPC_NOT_FOUND);
}
