import type { RunStatus } from './runs.js';

export type WatchEvent =
  | { type: 'progress'; data: Pick<RunStatus, 'workflowId' | 'runId' | 'status' | 'stage' | 'progress' | 'counters' | 'currentStep'> }
  | { type: 'close'; data: Pick<RunStatus, 'workflowId' | 'runId' | 'status' | 'stage' | 'progress' | 'result' | 'failure' | 'closeTime'> }
  /** The run can no longer be followed (its history is gone); nothing comes after it. */
  | { type: 'error'; data: { code: string; message: string } };

/** What a stream reads: events until the run closes, the watch fails or the hub shuts down. */
export interface Subscription extends AsyncIterable<WatchEvent> {
  /** Leave; the last subscriber to leave stops the watcher. Idempotent. */
  close(): void;
}

// A slow reader's backlog: beyond this its oldest progress events give way (never the close).
const MAX_BACKLOG = 32;

/** One subscriber's queue: a slow client holds up nobody but itself. */
export class Sub implements Subscription {
  private readonly backlog: WatchEvent[] = [];
  private wake: (() => void) | undefined;
  private ended = false;
  private left = false;

  constructor(private readonly onLeave: () => void) {}

  push(event: WatchEvent): void {
    if (this.ended) return;
    this.backlog.push(event);
    const oldest = this.backlog.length > MAX_BACKLOG ? this.backlog.findIndex((e) => e.type === 'progress') : -1;
    if (oldest >= 0) this.backlog.splice(oldest, 1);
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  close(): void {
    this.end();
    if (!this.left) {
      this.left = true;
      this.onLeave();
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<WatchEvent> {
    for (;;) {
      const next = this.backlog.shift();
      if (next) {
        yield next;
        if (next.type !== 'progress') return;
      } else if (this.ended) {
        return;
      } else {
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

