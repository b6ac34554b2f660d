import { defaultPayloadConverter } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { TRACE_HEADER } from '../contracts/common.js';

/** Puts the trace id that the workflow sent with an activity into that activity's log lines. */
export const activityTraceInterceptor: ActivityInterceptorsFactory = () => {
  let traceId: string | undefined;
  return {
    inbound: {
      execute(input, next) {
        const header = input.headers[TRACE_HEADER];
        const value: unknown = header ? defaultPayloadConverter.fromPayload(header) : undefined;
        traceId = typeof value === 'string' ? value : undefined;
        return next(input);
      },
    },
    outbound: {
      getLogAttributes(input, next) {
        return next(traceId ? { ...input, traceId } : input);
      },
    },
  };
};
