import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { ModelOutputInvalidError, ModelRateLimitedError, ModelRequestRefusedError } from '../ai/errors.js';
import type { Insights } from '../ai/insights.js';
import type { DocumentModel } from '../ai/model.js';
import { estimateTokens, planWindows, type TextWindow, windowBudgetChars } from '../ai/windows.js';
import { type AnalysisPlan, EMBEDDING_BATCH, type EmbeddingBatchResult, type ModelCall, type ModelStepResult } from '../contracts/ai.js';
import { failure } from '../contracts/failures.js';
import { ObjectNotFoundError } from '../storage/s3.js';
import { keepHeartbeating, rethrowIfCancelled } from './support.js';

/** What the model-call activities need from the work bucket. */
export interface AnalysisStorage {
  readText(bucket: string, key: string, signal?: AbortSignal): Promise<string>;
  writeText(bucket: string, key: string, text: string, contentType: string, signal?: AbortSignal): Promise<void>;
}

/** Records each call as metrics and on the activity's span (src/activities/ai-telemetry.ts). */
export type CallObserver = (provider: string, call: ModelCall) => void;

export interface AnalysisDependencies {
  storage: AnalysisStorage;
  /** undefined: AI_PROVIDER=local, no model calls. */
  model: DocumentModel | undefined;
  workBucket: string;
  contextTokens: number;
  maxOutputTokens: number;
  parallelCalls: number;
  maxTokensPerRun: number;
  aiTaskQueue: string;
  observe?: CallObserver | undefined;
}

const JSON_TYPE = 'application/json';

const planKey = (workPrefix: string) => `${workPrefix}ai/windows.json`;

/**
 * The model, the windows and the limits of one run's analysis, decided by the extract activity
 * (which holds the text already) from this worker's config; undefined without a model (local).
 * The windows are stored beside the text for the window calls.
 */
export async function planModelAnalysis(deps: AnalysisDependencies, text: string, workPrefix: string, signal: AbortSignal): Promise<AnalysisPlan | undefined> {
  const model = deps.model;
  if (!model) return undefined;
  const budget = windowBudgetChars(deps.contextTokens, deps.maxOutputTokens);
  const windows = planWindows(text, budget);
  await deps.storage.writeText(deps.workBucket, planKey(workPrefix), JSON.stringify(windows), JSON_TYPE, signal);
  return {
    provider: model.provider,
    model: model.model,
    embeddingModel: model.embeddingModel,
    promptVersion: model.promptVersion,
    taskQueue: deps.aiTaskQueue,
    parallelCalls: deps.parallelCalls,
    maxTokens: deps.maxTokensPerRun,
    windowTokens: windows.map((w) => estimateTokens(w.end - w.start)),
    combineChars: budget,
    embeddingBatch: EMBEDDING_BATCH,
  };
}

/**
 * The model's side of ingest, one activity per call: describeWindow, combineWindows and embedChunks each make one model call (run on the AI task
 * queue) and store its output in the work bucket. An output already stored is returned as it is,
 * so an attempt that ran after its call completed (the worker died before reporting) calls nothing.
 */
export function createAnalysisActivities(deps: AnalysisDependencies) {

  function requireModel(): DocumentModel {
    if (!deps.model) throw ApplicationFailure.nonRetryable('this worker has no model configured (AI_PROVIDER=local) but the run planned model calls: give every worker the same AI_* settings', failure.AiRequestRefused);
    return deps.model;
  }

  /** The stored output of a call, or undefined when it has not been made yet. */
  async function stored<T>(key: string, signal: AbortSignal): Promise<T | undefined> {
    try {
      return JSON.parse(await deps.storage.readText(deps.workBucket, key, signal)) as T;
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return undefined;
      throw err;
    }
  }

  /** Makes one model call unless its output is stored already; stores the output, then reports it. */
  async function once(key: string, call: (signal: AbortSignal) => Promise<{ insights: Insights; call: ModelCall }>): Promise<ModelStepResult> {
    const signal = Context.current().cancellationSignal;
    const done = await stored<{ insights: Insights; call: ModelCall }>(key, signal);
    if (done) return { key, chars: JSON.stringify(done.insights).length, call: done.call };
    const model = requireModel();
    const output = await keepHeartbeating(() => call(signal)).catch((err: unknown) => {
      throw asModelFailure(err, signal);
    });
    deps.observe?.(model.provider, output.call);
    await deps.storage.writeText(deps.workBucket, key, JSON.stringify(output), JSON_TYPE, signal);
    return { key, chars: JSON.stringify(output.insights).length, call: output.call };
  }

  return {
    /** One window's analysis; the only window of a short text is the whole document. */
    async describeWindow(input: { textKey: string; workPrefix: string; window: number; of: number }): Promise<ModelStepResult> {
      const key = `${input.workPrefix}ai/window-${input.window}.json`;
      return once(key, async (signal) => {
        const [text, windows] = await Promise.all([
          deps.storage.readText(deps.workBucket, input.textKey, signal),
          deps.storage.readText(deps.workBucket, planKey(input.workPrefix), signal).then((raw) => JSON.parse(raw) as TextWindow[]),
        ]);
        const window = windows[input.window];
        if (!window) throw new Error(`window ${input.window} is not in the plan of ${windows.length}`);
        const part = input.of === 1 ? undefined : { part: input.window + 1, of: input.of };
        return requireModel().describe(text.slice(window.start, window.end), part, { signal });
      });
    },

    /** The analyses of consecutive windows (or of earlier combinations) made into one. */
    async combineWindows(input: { workPrefix: string; keys: string[]; level: number; group: number }): Promise<ModelStepResult> {
      const key = `${input.workPrefix}ai/combined-${input.level}-${input.group}.json`;
      return once(key, async (signal) => {
        const partials = await Promise.all(
          input.keys.map(async (k) => (JSON.parse(await deps.storage.readText(deps.workBucket, k, signal)) as { insights: Insights }).insights),
        );
        const described = await requireModel().combine(partials, { signal });
        return { insights: described.insights, call: { ...described.call, part: input.group } };
      });
    },

    /** Embeddings of chunks [batch × size, (batch + 1) × size) of the run's chunks file. */
    async embedChunks(input: { chunksKey: string; workPrefix: string; batch: number; size: number }): Promise<EmbeddingBatchResult> {
      const key = `${input.workPrefix}ai/embeddings-${input.batch}.json`;
      const signal = Context.current().cancellationSignal;
      const done = await stored<{ vectors: number[][]; call: ModelCall }>(key, signal);
      if (done) return { key, call: done.call };
      const model = requireModel();
      const raw = await deps.storage.readText(deps.workBucket, input.chunksKey, signal);
      const texts = raw.split('\n').slice(input.batch * input.size, (input.batch + 1) * input.size).map((line) => (JSON.parse(line) as { text: string }).text);
      const output = await keepHeartbeating(() => model.embed(texts, { signal })).catch((err: unknown) => {
        throw asModelFailure(err, signal);
      });
      const call = { ...output.call, part: input.batch };
      deps.observe?.(model.provider, call);
      await deps.storage.writeText(deps.workBucket, key, JSON.stringify({ vectors: output.vectors, call }), JSON_TYPE, signal);
      return { key, call };
    },
  };
}

export type AnalysisActivities = ReturnType<typeof createAnalysisActivities>;

/** Model errors as Temporal should see them: wait as asked, give up with a reason, or retry with backoff. */
export function asModelFailure(err: unknown, signal: AbortSignal): unknown {
  rethrowIfCancelled(err, signal);
  if (err instanceof ModelRateLimitedError) {
    return ApplicationFailure.create({
      message: err.message,
      type: failure.AiRateLimited,
      ...(err.retryAfterMs === undefined ? {} : { nextRetryDelay: err.retryAfterMs }),
    });
  }
  if (err instanceof ModelRequestRefusedError) return ApplicationFailure.nonRetryable(err.message, failure.AiRequestRefused);
  if (err instanceof ModelOutputInvalidError) {
    return ApplicationFailure.create({
      message: `${err.message}; it began: ${err.answerHead}`,
      type: failure.ModelOutputInvalid,
      nonRetryable: true,
      details: [{ answerHead: err.answerHead }],
    });
  }
  return err;
}
