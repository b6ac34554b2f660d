import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { AnalysisActivities } from '../activities/analysis.js';
import { type AnalysisPlan, type ModelCall, type ModelStepResult, usageOf } from '../contracts/ai.js';
import { failure } from '../contracts/failures.js';
import { MODEL_CALL } from './activity-options.js';

/**
 * The model calls of one run, as the workflow orchestrates them: every window's analysis (at most
 * plan.parallelCalls at once), then combining calls level by level until one analysis remains,
 * then the chunks' embeddings. Each call is its own activity on the AI task queue, retried alone;
 * a finished call is in the history, so a run resumed on another worker never repeats it. Before
 * each call the run's tokens so far and the call's estimate are held against the budget.
 */
export class ModelAnalysis {
  readonly calls: ModelCall[] = [];
  windowsDone = 0;
  private readonly activities: AnalysisActivities;
  /** Estimated tokens of the calls in flight. */
  private reserved = 0;

  /** `onProgress` is called after every call, for the run's progress query. */
  constructor(private readonly plan: AnalysisPlan, private readonly onProgress: () => void) {
    this.activities = proxyActivities<AnalysisActivities>({ ...MODEL_CALL, taskQueue: plan.taskQueue });
  }

  get windows(): number {
    return this.plan.windowTokens.length;
  }

  /** Analyses the text; returns the key of the one analysis of the whole. */
  async describe(input: { textKey: string; workPrefix: string }): Promise<string> {
    const of = this.windows;
    let level: ModelStepResult[] = await this.bounded(this.plan.windowTokens, (tokens, window) =>
      this.call(tokens, `window ${window + 1} of ${of}`, async () => {
        const result = await this.activities.describeWindow({ ...input, window, of });
        this.windowsDone++;
        return result;
      }),
    );
    for (let depth = 1; level.length > 1; depth++) {
      const groups = groupBySize(level, this.plan.combineChars);
      level = await this.bounded(groups, (group, index) => {
        if (group.length === 1) return Promise.resolve(group[0]!);
        const tokens = Math.ceil(group.reduce((n, r) => n + r.chars, 0) / 3);
        return this.call(tokens, `combining group ${index + 1} of ${groups.length}`, () =>
          this.activities.combineWindows({ workPrefix: input.workPrefix, keys: group.map((r) => r.key), level: depth, group: index }),
        );
      });
    }
    return level[0]!.key;
  }

  /** Embeds the run's chunks in batches; returns the batches' keys in chunk order. */
  async embed(input: { chunksKey: string; workPrefix: string; chunkCount: number; textChars: number }): Promise<string[]> {
    const size = this.plan.embeddingBatch;
    const batches = Math.ceil(input.chunkCount / size);
    const tokensPerBatch = Math.ceil(input.textChars / 3 / Math.max(1, batches));
    const results = await this.bounded(Array.from({ length: batches }, (_, batch) => batch), (batch) =>
      this.call(tokensPerBatch, `embedding batch ${batch + 1} of ${batches}`, () => this.activities.embedChunks({ chunksKey: input.chunksKey, workPrefix: input.workPrefix, batch, size })),
    );
    return results.map((r) => r.key);
  }

  private async call<R extends { call: ModelCall }>(estimate: number, what: string, run: () => Promise<R>): Promise<R> {
    const used = usageOf(this.calls).totalTokens;
    if (used + this.reserved + estimate > this.plan.maxTokens) {
      throw ApplicationFailure.nonRetryable(
        `the run's model calls would pass AI_MAX_TOKENS_PER_RUN (${this.plan.maxTokens} tokens): ${this.calls.length} calls used ${used} tokens, ` +
          `${this.reserved} more are in flight, and the next (${what}) needs about ${estimate}`,
        failure.BudgetExceeded,
        { limit: this.plan.maxTokens, used, inFlight: this.reserved, next: estimate, calls: this.calls.length },
      );
    }
    this.reserved += estimate;
    try {
      const result = await run();
      this.calls.push(result.call);
      this.onProgress();
      return result;
    } finally {
      this.reserved -= estimate;
    }
  }

  /** `fn` over the items with at most plan.parallelCalls in flight; the first failure stops new calls. */
  private async bounded<T, R>(items: readonly T[], fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
    const results: R[] = new Array<R>(items.length);
    let next = 0;
    let failed = false;
    const lane = async (): Promise<void> => {
      while (!failed && next < items.length) {
        const index = next++;
        try {
          results[index] = await fn(items[index]!, index);
        } catch (err) {
          failed = true;
          throw err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.plan.parallelCalls, items.length) }, lane));
    return results;
  }
}

/**
 * Consecutive results packed into groups of at most `maxChars` of analysis each, at least two a
 * group (so every level has fewer results than the one before) unless one is left over.
 */
export function groupBySize<T extends { chars: number }>(results: readonly T[], maxChars: number): T[][] {
  const groups: T[][] = [];
  let current: T[] = [];
  let chars = 0;
  for (const result of results) {
    if (current.length >= 2 && chars + result.chars > maxChars) {
      groups.push(current);
      current = [];
      chars = 0;
    }
    current.push(result);
    chars += result.chars;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}
