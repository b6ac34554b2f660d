/**
 * src/ai: the analysis of a text. The local provider (language, keywords, summary, chunks; no
 * network) always chunks the text; with AI_PROVIDER=openai-compatible a DocumentModel writes the
 * title, summary, keywords, language, entities, labels and questions, and embeds the chunks.
 * Called by the analyse activities in the worker process.
 */
import type { Config } from '../config.js';
import { createLocalAiProvider } from './local.js';
import type { DocumentModel } from './model.js';
import { createOpenAiCompatibleModel } from './openai-compatible.js';
import { loadPromptSet } from './prompts.js';
import type { AiProvider } from './provider.js';

export { PROMPT_VERSION } from './prompts.js';

/** The local analysis: the chunks (the same whatever the model), and everything else when there is no model. */
export function createAiProvider(): AiProvider {
  return createLocalAiProvider();
}

type ModelConfig = Pick<
  Config,
  | 'AI_PROVIDER' | 'AI_BASE_URL' | 'AI_API_KEY' | 'AI_MODEL' | 'AI_EMBEDDING_MODEL' | 'AI_LABELS' | 'AI_QUESTIONS'
  | 'AI_MAX_OUTPUT_TOKENS' | 'AI_REQUEST_TIMEOUT_SECONDS' | 'AI_PRICES'
>;

/** The model the config names; undefined for AI_PROVIDER=local. */
export function createDocumentModel(config: ModelConfig): DocumentModel | undefined {
  switch (config.AI_PROVIDER) {
    case 'local':
      return undefined;
    case 'openai-compatible':
      if (config.AI_BASE_URL === undefined || config.AI_MODEL === undefined) throw new Error('AI_PROVIDER=openai-compatible needs AI_BASE_URL and AI_MODEL');
      return createOpenAiCompatibleModel({
        baseURL: config.AI_BASE_URL,
        apiKey: config.AI_API_KEY,
        model: config.AI_MODEL,
        embeddingModel: config.AI_EMBEDDING_MODEL,
        labels: config.AI_LABELS,
        questions: config.AI_QUESTIONS,
        maxOutputTokens: config.AI_MAX_OUTPUT_TOKENS,
        timeoutMs: config.AI_REQUEST_TIMEOUT_SECONDS * 1000,
        prices: config.AI_PRICES,
        prompts: loadPromptSet(),
      });
  }
}
