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

export interface HarvesterWorkerOptions {
  config: Pick<Config, 'TEMPORAL_NAMESPACE' | 'TEMPORAL_TASK_QUEUE' | 'WORKER_SHUTDOWN_GRACE_SECONDS'>;
  connection: NativeConnection;
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

export function createHarvesterWorker(options: HarvesterWorkerOptions): Promise<Worker> {
  // A bundle built ahead already holds the workflow interceptor modules.
  const workflows = options.workflowBundle
    ? { workflowBundle: options.workflowBundle, interceptors: { activity: activityInterceptors } }
    : fromSources(workflowBundleSources());
  return Worker.create({
    connection: options.connection,
    namespace: options.config.TEMPORAL_NAMESPACE,
    taskQueue: options.config.TEMPORAL_TASK_QUEUE,
    activities: options.activities,
    ...workflows,
    sinks: workflowSinks(options.tracing ?? disabledTracing()),
    ...(options.identity ? { identity: options.identity } : {}),
    // On SIGTERM, running activities get this long to finish before they are cancelled and
    // handed back to the server for another worker.
    shutdownGraceTime: `${options.config.WORKER_SHUTDOWN_GRACE_SECONDS} seconds`,
    // Cancellation reaches an activity with its next heartbeat; without this cap the SDK may hold
    // heartbeats back for up to 80% of the heartbeat timeout, delaying a cancel by a minute.
    maxHeartbeatThrottleInterval: '2 seconds',
  });
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
