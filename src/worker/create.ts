import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import { type ActivityInterceptorsFactory, type NativeConnection, type ReplayWorkerOptions, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import type { Config } from '../config.js';
import { disabledTracing, type Tracing } from '../telemetry.js';
import { activityTraceInterceptor } from './activity-trace.js';

// Under tsx the sources are .ts; after `npm run build` they are .js next to this file.
function workflowModule(name: string): string {
  for (const ext of ['.js', '.ts']) {
    const path = fileURLToPath(new URL(`../workflows/${name}${ext}`, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error(`cannot find src/workflows/${name}.ts (or its compiled .js)`);
}

const workflowsPath = (): string => workflowModule('index');

/**
 * What a workflow bundle is made of: the workflows and the workflow interceptor modules. The
 * worker bundles them when it starts (development, tests); `npm run build:workflows` bundles them
 * ahead for production (scripts/bundle-workflows.ts).
 */
export function workflowBundleSources(): { workflowsPath: string; workflowInterceptorModules: string[] } {
  return {
    workflowsPath: workflowsPath(),
    // Ours (the trace id in logs and activity headers) and OpenTelemetry's (workflow spans, and
    // the trace context carried on to activities and child workflows).
    workflowInterceptorModules: [workflowModule('interceptors'), OTEL_WORKFLOW_INTERCEPTORS],
  };
}

const OTEL_WORKFLOW_INTERCEPTORS = createRequire(import.meta.url).resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');

/** Each activity runs in a span of the run's trace, and its log lines carry the trace ids. */
const activityInterceptors: ActivityInterceptorsFactory[] = [
  activityTraceInterceptor,
  (ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) }),
];

/**
 * The activities that call a model: the worker also polls TEMPORAL_AI_TASK_QUEUE for them, with
 * that queue's own concurrency and rate limit (the workflow schedules them there).
 */
export const AI_ACTIVITIES = ['describeWindow', 'combineWindows', 'embedChunks'] as const;

export interface HarvesterWorkerOptions {
  config: Pick<
    Config,
    'TEMPORAL_NAMESPACE' | 'TEMPORAL_TASK_QUEUE' | 'WORKER_SHUTDOWN_GRACE_SECONDS' | 'TEMPORAL_AI_TASK_QUEUE' | 'AI_MAX_CONCURRENCY' | 'AI_MAX_CALLS_PER_SECOND'
  >;
  connection: NativeConnection;
  /** Every activity; those named in AI_ACTIVITIES are also served on the AI task queue. */
  activities: object;
  /**
   * A workflow bundle built ahead from workflowBundleSources() (production); otherwise the worker
   * bundles the sources when it starts.
   */
  workflowBundle?: WorkflowBundleOption;
  /** Extra worker identity, shown in the Temporal UI's pending activities. */
  identity?: string;
  /** Where workflow spans go (src/telemetry.ts); off when not given. */
  tracing?: Tracing;
}

/** The worker of the pipelines' task queue and the worker of the AI task queue, run and stopped together. */
export interface HarvesterWorker {
  /** Resolves when both have stopped (after shutdown(), or a signal); rejects if either fails. */
  run(): Promise<void>;
  shutdown(): void;
  /** The pipelines' worker (workflows and every activity). */
  readonly main: Worker;
  /** The AI task queue's worker (model calls only). */
  readonly ai: Worker;
}

export async function createHarvesterWorker(options: HarvesterWorkerOptions): Promise<HarvesterWorker> {
  const { config } = options;
  // A bundle built ahead already holds the workflow interceptor modules.
  const workflows = options.workflowBundle
    ? { workflowBundle: options.workflowBundle, interceptors: { activity: activityInterceptors } }
    : fromSources(workflowBundleSources());
  const common = {
    connection: options.connection,
    namespace: config.TEMPORAL_NAMESPACE,
    ...(options.identity ? { identity: options.identity } : {}),
    // On SIGTERM, running activities get this long to finish before they are cancelled and
    // handed back to the server for another worker.
    shutdownGraceTime: `${config.WORKER_SHUTDOWN_GRACE_SECONDS} seconds`,
    // Cancellation reaches an activity with its next heartbeat; without this cap the SDK may hold
    // heartbeats back for up to 80% of the heartbeat timeout, delaying a cancel by a minute.
    maxHeartbeatThrottleInterval: '2 seconds',
  } as const;
  const main = await Worker.create({
    ...common,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    activities: options.activities,
    ...workflows,
    sinks: workflowSinks(options.tracing ?? disabledTracing()),
  });
  const modelCalls = Object.fromEntries(Object.entries(options.activities).filter(([name]) => (AI_ACTIVITIES as readonly string[]).includes(name)));
  const ai = await Worker.create({
    ...common,
    taskQueue: config.TEMPORAL_AI_TASK_QUEUE,
    activities: modelCalls,
    interceptors: { activity: activityInterceptors },
    // The limits of model calls: slots of this process, and calls per second across every worker
    // of the queue (the server hands out no more tasks than that).
    maxConcurrentActivityTaskExecutions: config.AI_MAX_CONCURRENCY,
    ...(config.AI_MAX_CALLS_PER_SECOND === undefined ? {} : { maxTaskQueueActivitiesPerSecond: config.AI_MAX_CALLS_PER_SECOND }),
  });
  return {
    main,
    ai,
    async run() {
      // One stopping stops the other, so a failed worker never leaves half a process polling.
      const runs = [main, ai].map((w) => w.run().finally(() => stop()));
      const outcomes = await Promise.allSettled(runs);
      const failed = outcomes.find((o) => o.status === 'rejected');
      if (failed) throw failed.reason;
    },
    shutdown: () => stop(),
  };

  function stop(): void {
    for (const w of [main, ai]) if (w.getState() === 'RUNNING') w.shutdown();
  }
}

/** What a replay of recorded histories runs: the workflows with the production interceptors. */
export function replayOptions(): ReplayWorkerOptions {
  const sources = workflowBundleSources();
  return {
    workflowsPath: sources.workflowsPath,
    interceptors: { workflowModules: sources.workflowInterceptorModules },
    sinks: workflowSinks(disabledTracing()),
  };
}

/**
 * Workflow spans are made inside the sandbox and leave it through this sink, also when tracing
 * is off (then they are dropped): the bundled OpenTelemetry interceptors always call it.
 */
function workflowSinks(tracing: Tracing) {
  return { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) };
}

function fromSources(sources: ReturnType<typeof workflowBundleSources>) {
  return { workflowsPath: sources.workflowsPath, interceptors: { workflowModules: sources.workflowInterceptorModules, activity: activityInterceptors } };
}
