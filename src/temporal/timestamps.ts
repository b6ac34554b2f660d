import { optionalTsToMs } from '@temporalio/common/lib/time.js';

type ProtoTime = Parameters<typeof optionalTsToMs>[0];

/** A protobuf Timestamp as an ISO string, or null when absent. */
export function isoTime(ts: ProtoTime): string | null {
  const ms = optionalTsToMs(ts);
  return ms === undefined ? null : new Date(ms).toISOString();
}

/** A protobuf Duration in milliseconds, or null when absent. */
export function durationMs(duration: ProtoTime): number | null {
  return optionalTsToMs(duration) ?? null;
}
