import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import type { Config } from '../config.js';
import { activityTraceInterceptor } from './trace.js';

// Under tsx the sources are .ts; after `npm run build` they are .js next to this file.
function workflowModule(name: string): string {
  for (const ext of ['.js', '.ts']) {
    const path = fileURLToPath(new URL(`../workflows/${name}${ext}`, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error(`cannot find src/workflows/${name}.ts (or its compiled .js)`);
}

const workflowsPath = (): string => workflowModule('index');

export interface HarvesterWorkerOptions {
  config: Pick<Config, 'TEMPORAL_NAMESPACE' | 'TEMPORAL_TASK_QUEUE'>;
  connection: NativeConnection;
  activities: object;
  /** A prebuilt workflow bundle (tests build it once); otherwise the sources are bundled. */
  workflowBundle?: WorkflowBundleOption;
  /** Extra worker identity, shown in the Temporal UI's pending activities. */
  identity?: string;
  /** On SIGTERM, how long running activities may go on before they are cancelled (default 30). */
  shutdownGraceSeconds?: number;
}

export function createHarvesterWorker(options: HarvesterWorkerOptions): Promise<Worker> {
  // A prebuilt bundle must have been built with the interceptors module (bundleWorkflowCode's
  // workflowInterceptorModules); from sources the worker bundles both.
  const workflows = options.workflowBundle
    ? { workflowBundle: options.workflowBundle, interceptors: { activity: [activityTraceInterceptor] } }
    : { workflowsPath: workflowsPath(), interceptors: { workflowModules: [workflowModule('interceptors')], activity: [activityTraceInterceptor] } };
  return Worker.create({
    connection: options.connection,
    namespace: options.config.TEMPORAL_NAMESPACE,
    taskQueue: options.config.TEMPORAL_TASK_QUEUE,
    activities: options.activities,
    ...workflows,
    ...(options.identity ? { identity: options.identity } : {}),
    // On SIGTERM, running activities get this long to finish before they are cancelled and
    // handed back to the server for another worker.
    shutdownGraceTime: `${options.shutdownGraceSeconds ?? 30} seconds`,
    // Cancellation reaches an activity with its next heartbeat; without this cap the SDK may hold
    // heartbeats back for up to 80% of the heartbeat timeout, delaying a cancel by a minute.
    maxHeartbeatThrottleInterval: '2 seconds',
  });
}

export { workflowsPath };
