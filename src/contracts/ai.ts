/**
 * The model calls of a run as the workflow counts them: each call's usage and cost, and their
 * totals for the run's status, its result and its asset. Pure, so the workflow can add them up.
 */

export type ModelCallKind = 'document' | 'window' | 'combine' | 'embedding';

/** Chunks per embedding call: well inside every endpoint's batch limit (OpenAI: 2,048 inputs). */
export const EMBEDDING_BATCH = 64;

/** One call to a model, as recorded with the asset (asset_ai_runs) and summed into the run's usage. */
export interface ModelCall {
  kind: ModelCallKind;
  model: string;
  /** The window (or combining group) the call served; absent for a single-document call. */
  part?: number | undefined;
  promptTokens: number;
  completionTokens: number;
  /** USD from AI_PRICES; null when the model has no price there. */
  costUsd: number | null;
  durationMs: number;
  /** The first answer did not match the schema and a repair call was made (its tokens are included). */
  repaired?: boolean | undefined;
  /** The endpoint reported no usage, so the counts are estimates from the text's length. */
  estimated?: boolean | undefined;
}

export interface ModelUsage {
  calls: number;
  promptTokens: number;
  completionTokens: number;
  embeddingTokens: number;
  totalTokens: number;
  /** null when any call's model had no price. */
  costUsd: number | null;
}

/** A run's usage: its totals, and the same per model. */
export interface RunUsage extends ModelUsage {
  provider: string;
  byModel: Record<string, ModelUsage>;
}

export const NO_USAGE: ModelUsage = { calls: 0, promptTokens: 0, completionTokens: 0, embeddingTokens: 0, totalTokens: 0, costUsd: 0 };

/** The totals of some calls (cost rounded to a micro-dollar, so sums read cleanly). */
export function usageOf(calls: readonly ModelCall[]): ModelUsage {
  return calls.reduce<ModelUsage>((sum, call) => {
    const embedding = call.kind === 'embedding';
    const cost = sum.costUsd === null || call.costUsd === null ? null : Math.round((sum.costUsd + call.costUsd) * 1e6) / 1e6;
    return {
      calls: sum.calls + 1,
      promptTokens: sum.promptTokens + (embedding ? 0 : call.promptTokens),
      completionTokens: sum.completionTokens + call.completionTokens,
      embeddingTokens: sum.embeddingTokens + (embedding ? call.promptTokens : 0),
      totalTokens: sum.totalTokens + call.promptTokens + call.completionTokens,
      costUsd: cost,
    };
  }, NO_USAGE);
}

/** A run's usage from its calls, with the per-model breakdown. */
export function runUsage(provider: string, calls: readonly ModelCall[]): RunUsage {
  const models = [...new Set(calls.map((c) => c.model))].sort();
  return { provider, ...usageOf(calls), byModel: Object.fromEntries(models.map((m) => [m, usageOf(calls.filter((c) => c.model === m))])) };
}

/**
 * How a run's text is analysed by a model, decided by the planAnalysis activity from the config
 * of the worker that ran it (and recorded in the history, so a replay decides the same).
 */
export interface AnalysisPlan {
  provider: string;
  model: string;
  embeddingModel: string | undefined;
  promptVersion: string;
  /** Task queue of the model calls (TEMPORAL_AI_TASK_QUEUE). */
  taskQueue: string;
  /** Window calls of this run in flight at once (AI_PARALLEL_CALLS). */
  parallelCalls: number;
  /** AI_MAX_TOKENS_PER_RUN. */
  maxTokens: number;
  /** Estimated prompt tokens of each window's call; one window: the whole document in one call. */
  windowTokens: number[];
  /** The most characters of window analyses one combining call takes. */
  combineChars: number;
  /** Chunks per embedding call (EMBEDDING_BATCH when the run was planned). */
  embeddingBatch: number;
}

/** A model call's output, stored in the work bucket under `key`; `chars` is its JSON's length. */
export interface ModelStepResult {
  key: string;
  chars: number;
  call: ModelCall;
}

/** The embeddings of one batch of chunks, stored under `key`. */
export interface EmbeddingBatchResult {
  key: string;
  call: ModelCall;
}
