import { defaultPayloadConverter, type WorkflowInterceptorsFactory, workflowInfo } from '@temporalio/workflow';
import { type RunMemo, TRACE_HEADER } from '../contracts/common.js';

/**
 * A run's trace id (memo `traceId`, set from an event's trace_id or a traceparent header) goes
 * into every log line of the workflow and travels to its activities as a header.
 */
export const interceptors: WorkflowInterceptorsFactory = () => ({
  outbound: [
    {
      getLogAttributes(input, next) {
        const traceId = memoTraceId();
        return next(traceId ? { ...input, traceId } : input);
      },
      scheduleActivity(input, next) {
        const traceId = memoTraceId();
        if (!traceId) return next(input);
        return next({ ...input, headers: { ...input.headers, [TRACE_HEADER]: defaultPayloadConverter.toPayload(traceId) } });
      },
    },
  ],
});

function memoTraceId(): string | undefined {
  const traceId: unknown = (workflowInfo().memo as RunMemo | undefined)?.traceId;
  return typeof traceId === 'string' ? traceId : undefined;
}
