import { describe, expect, it } from 'vitest';
import { ConfigError } from './config.js';
import { type Attempt, type Dependency, describeCause, UnreachableError, untilReachable } from './startup.js';

/** A clock that only the waits between attempts move, and the log lines written. */
function fakeTime() {
  let now = 0;
  const waits: number[] = [];
  const lines: { fields: Record<string, unknown>; message: string }[] = [];
  return {
    waits,
    lines,
    now: () => now,
    sleep: (ms: number) => {
      waits.push(ms);
      now += ms;
      return Promise.resolve();
    },
    log: { warn: (fields: Record<string, unknown>, message: string) => void lines.push({ fields, message }) },
  };
}

function temporal(check: (attempt: Attempt) => Promise<string>): Dependency<string> {
  return { name: 'Temporal', setting: 'TEMPORAL_ADDRESS', target: '127.0.0.1:7233', check };
}

const refused = () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:7233'));

describe('untilReachable', () => {
  it("answers the check's result once it succeeds, after one line per failed attempt", async () => {
    const time = fakeTime();
    let calls = 0;
    const result = await untilReachable(temporal(() => (++calls < 3 ? refused() : Promise.resolve('client'))), { timeoutSeconds: 60, ...time });
    expect(result).toBe('client');
    expect(time.lines.map((line) => line.message)).toEqual([
      'Temporal at 127.0.0.1:7233 (TEMPORAL_ADDRESS) not reachable, retrying in 1 s (attempt 1): connect ECONNREFUSED 127.0.0.1:7233',
      'Temporal at 127.0.0.1:7233 (TEMPORAL_ADDRESS) not reachable, retrying in 2 s (attempt 2): connect ECONNREFUSED 127.0.0.1:7233',
    ]);
    expect(time.lines[1]?.fields).toMatchObject({ dependency: 'Temporal', setting: 'TEMPORAL_ADDRESS', target: '127.0.0.1:7233', attempt: 2, retryInMs: 2000 });
  });

  it('backs off 1 s doubling to 5 s, and gives up at the bound with what it could not reach', async () => {
    const time = fakeTime();
    const error = await untilReachable(temporal(refused), { timeoutSeconds: 20, ...time }).catch((err: unknown) => err);
    // 1 + 2 + 4 + 5 + 5 = 17; the last wait ends at the bound, where the last attempt runs.
    expect(time.waits).toEqual([1000, 2000, 4000, 5000, 5000, 3000]);
    expect(error).toBeInstanceOf(UnreachableError);
    expect((error as UnreachableError).message).toBe(
      'Temporal at 127.0.0.1:7233 (TEMPORAL_ADDRESS) not reachable after 7 attempts (STARTUP_TIMEOUT_SECONDS=20): connect ECONNREFUSED 127.0.0.1:7233',
    );
    expect(error).toMatchObject({ dependency: 'Temporal', setting: 'TEMPORAL_ADDRESS', target: '127.0.0.1:7233', attempts: 7 });
  });

  it('tries once when the bound is 0, giving that attempt its usual time', async () => {
    const time = fakeTime();
    const limits: number[] = [];
    const check = ({ timeoutMs }: Attempt) => {
      limits.push(timeoutMs);
      return refused();
    };
    const error = await untilReachable(temporal(check), { timeoutSeconds: 0, ...time }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(UnreachableError);
    expect((error as UnreachableError).attempts).toBe(1);
    expect(limits).toEqual([5000]);
    expect(time.lines).toEqual([]);
  });

  it('does not retry a ConfigError: a wrong setting stays wrong', async () => {
    const time = fakeTime();
    const wrong = new ConfigError(['TEMPORAL_TLS_CLIENT_CERT_PATH: cannot read /missing.pem (ENOENT)']);
    await expect(untilReachable(temporal(() => Promise.reject(wrong)), { timeoutSeconds: 60, ...time })).rejects.toBe(wrong);
    expect(time.lines).toEqual([]);
  });

  it('ends an attempt that does not answer within its time, also when the check ignores the signal', async () => {
    const { log, sleep } = fakeTime();
    let signal: AbortSignal | undefined;
    // The real clock: the attempt's time limit (here the whole second of the bound) is a real timer.
    const error = await untilReachable(
      temporal((attempt) => {
        signal = attempt.signal;
        return new Promise<string>(() => {});
      }),
      { timeoutSeconds: 1, log, sleep },
    ).catch((err: unknown) => err);
    expect(error).toMatchObject({ attempts: 1, lastError: 'no answer within 1 s' });
    expect(signal?.aborted).toBe(true);
  });
});

describe('describeCause', () => {
  it("adds the cause's message, and an AggregateError's errors when it has no message of its own", () => {
    expect(describeCause(new Error('Failed to connect to Temporal server', { cause: new Error('14 UNAVAILABLE: connection refused') }))).toBe(
      'Failed to connect to Temporal server (14 UNAVAILABLE: connection refused)',
    );
    expect(describeCause(new AggregateError([new Error('connect ECONNREFUSED ::1:5432'), new Error('connect ECONNREFUSED 127.0.0.1:5432')], ''))).toBe(
      'connect ECONNREFUSED ::1:5432; connect ECONNREFUSED 127.0.0.1:5432',
    );
    expect(describeCause('down')).toBe('down');
  });
});
