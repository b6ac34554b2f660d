import type { ModelCall } from '../contracts/ai.js';
import type { Insights } from './insights.js';

/** Which part of a long document a call describes (1-based, for the prompt). */
export interface Part {
  part: number;
  of: number;
}

export interface CallOptions {
  signal?: AbortSignal | undefined;
}

export interface Described {
  insights: Insights;
  call: ModelCall;
}

/**
 * A language model as the analysis needs it: describe a document (or one window of a long one),
 * combine the descriptions of windows, embed chunks. Every method reports its call's usage.
 */
export interface DocumentModel {
  readonly provider: string;
  readonly model: string;
  readonly embeddingModel: string | undefined;
  readonly promptVersion: string;
  describe(text: string, part: Part | undefined, options?: CallOptions): Promise<Described>;
  combine(partials: readonly Insights[], options?: CallOptions): Promise<Described>;
  embed(texts: readonly string[], options?: CallOptions): Promise<{ vectors: number[][]; call: ModelCall }>;
}
