import OpenAI, { APIConnectionError, APIError, APIUserAbortError } from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { z } from 'zod';
import type { ModelCall, ModelCallKind } from '../contracts/ai.js';
import { ModelOutputInvalidError, ModelRateLimitedError, ModelRequestRefusedError } from './errors.js';
import { type Insights, insightsJsonSchema, type InsightsOptions, parseInsights } from './insights.js';
import type { CallOptions, Described, DocumentModel, Part } from './model.js';
import { costOf, type PriceTable } from './prices.js';
import type { PromptSet } from './prompts.js';
import { retryDelayMs } from './retry-after.js';
import { estimateTokens } from './windows.js';

export interface OpenAiCompatibleOptions extends InsightsOptions {
  baseURL: string;
  /** Local servers (Ollama, vLLM) take any key; the client needs one. */
  apiKey: string | undefined;
  model: string;
  embeddingModel: string | undefined;
  maxOutputTokens: number;
  timeoutMs: number;
  prices: PriceTable;
  prompts: PromptSet;
}

/** How much of a bad answer a failure message quotes. */
const ANSWER_HEAD_CHARS = 500;

/**
 * A DocumentModel over any OpenAI-compatible endpoint with the official client: structured output
 * by JSON schema, validated with zod, one repair attempt for an answer that does not match. The
 * client never retries (maxRetries 0): Temporal does, honouring the server's delays, so every
 * attempt is visible in the run's history.
 */
export function createOpenAiCompatibleModel(options: OpenAiCompatibleOptions): DocumentModel {
  const client = new OpenAI({ baseURL: options.baseURL, apiKey: options.apiKey ?? 'unused', maxRetries: 0, timeout: options.timeoutMs });
  const schema = insightsJsonSchema(options);
  const system = options.prompts.system(options);

  function record(kind: ModelCallKind, model: string, started: number, tokens: { prompt: number; completion: number; estimated: boolean }, part?: number): ModelCall {
    return {
      kind,
      model,
      ...(part === undefined ? {} : { part }),
      promptTokens: tokens.prompt,
      completionTokens: tokens.completion,
      costUsd: costOf(options.prices, model, tokens.prompt, tokens.completion),
      durationMs: Date.now() - started,
      ...(tokens.estimated ? { estimated: true } : {}),
    };
  }

  async function complete(messages: ChatCompletionMessageParam[], signal: AbortSignal | undefined) {
    const response = await client.chat.completions
      .create(
        {
          model: options.model,
          messages,
          temperature: 0,
          // max_tokens rather than max_completion_tokens: Ollama and LM Studio read only this one.
          max_tokens: options.maxOutputTokens,
          response_format: { type: 'json_schema', json_schema: { name: 'document_analysis', schema, strict: true } },
        },
        { signal },
      )
      .catch((err: unknown) => {
        throw classify(err, options.model);
      });
    const message = response.choices[0]?.message;
    const content = message?.content ?? '';
    const sent = messages.reduce((n, m) => n + (typeof m.content === 'string' ? m.content.length : 0), 0);
    const usage = response.usage
      ? { prompt: response.usage.prompt_tokens, completion: response.usage.completion_tokens, estimated: false }
      : { prompt: estimateTokens(sent), completion: estimateTokens(content.length), estimated: true };
    return { content, refusal: message?.refusal ?? undefined, usage };
  }

  /** One call, and one repair call when the answer does not validate. */
  async function ask(kind: ModelCallKind, prompt: string, part: number | undefined, signal: AbortSignal | undefined): Promise<Described> {
    const started = Date.now();
    const messages: ChatCompletionMessageParam[] = [
      { role: 'system', content: system },
      { role: 'user', content: prompt },
    ];
    const first = await complete(messages, signal);
    const checked = check(first.content, first.refusal);
    if (checked.insights) return { insights: checked.insights, call: record(kind, options.model, started, first.usage, part) };

    const second = await complete([...messages, { role: 'assistant', content: first.content }, { role: 'user', content: options.prompts.repair(checked.problem) }], signal);
    const repaired = check(second.content, second.refusal);
    if (!repaired.insights) {
      throw new ModelOutputInvalidError(
        `${options.model} answered with output that does not match the schema, also after a repair attempt (${repaired.problem})`,
        second.content.slice(0, ANSWER_HEAD_CHARS),
      );
    }
    const usage = {
      prompt: first.usage.prompt + second.usage.prompt,
      completion: first.usage.completion + second.usage.completion,
      estimated: first.usage.estimated || second.usage.estimated,
    };
    return { insights: repaired.insights, call: { ...record(kind, options.model, started, usage, part), repaired: true } };
  }

  function check(content: string, refusal: string | undefined): { insights: Insights; problem?: never } | { insights?: never; problem: string } {
    if (refusal) return { problem: `the model refused: ${refusal}` };
    let value: unknown;
    try {
      value = JSON.parse(content);
    } catch (err) {
      return { problem: `not JSON: ${(err as Error).message}` };
    }
    try {
      return { insights: parseInsights(value, options) };
    } catch (err) {
      return { problem: err instanceof z.ZodError ? z.prettifyError(err) : String(err) };
    }
  }

  return {
    provider: 'openai-compatible',
    model: options.model,
    embeddingModel: options.embeddingModel,
    promptVersion: options.prompts.version,

    describe(text: string, part: Part | undefined, { signal }: CallOptions = {}) {
      if (part === undefined) return ask('document', options.prompts.document(text), undefined, signal);
      return ask('window', options.prompts.window(text, part.part, part.of), part.part, signal);
    },

    combine(partials: readonly Insights[], { signal }: CallOptions = {}) {
      return ask('combine', options.prompts.combine(JSON.stringify(partials, null, 1)), undefined, signal);
    },

    async embed(texts: readonly string[], { signal }: CallOptions = {}) {
      const model = options.embeddingModel;
      if (model === undefined) throw new Error('no embedding model is configured (AI_EMBEDDING_MODEL)');
      const started = Date.now();
      const response = await client.embeddings
        // float: the client's default base64 is not understood by every compatible server.
        .create({ model, input: [...texts], encoding_format: 'float' }, { signal })
        .catch((err: unknown) => {
          throw classify(err, model);
        });
      const vectors = [...response.data].sort((a, b) => a.index - b.index).map((d) => d.embedding);
      if (vectors.length !== texts.length) throw new Error(`${model} returned ${vectors.length} embeddings for ${texts.length} texts`);
      const prompt = response.usage?.prompt_tokens;
      const tokens = prompt === undefined
        ? { prompt: estimateTokens(texts.reduce((n, t) => n + t.length, 0)), completion: 0, estimated: true }
        : { prompt, completion: 0, estimated: false };
      return { vectors, call: record('embedding', model, started, tokens) };
    },
  };
}

/** What the endpoint said, in terms of what to do next: wait, give up with a reason, or retry. */
function classify(err: unknown, model: string): unknown {
  if (!(err instanceof APIError) || err instanceof APIUserAbortError || err instanceof APIConnectionError) return err;
  // instanceof narrows to APIError<any, …>; these are its declared defaults.
  const api = err as APIError<number | undefined, Headers | undefined>;
  const status = api.status;
  if (status === undefined) return err;
  const detail = `${status}${api.code ? ` ${api.code}` : ''}: ${api.message}`;
  if (status === 429 || status === 503) {
    return new ModelRateLimitedError(`the model endpoint is ${status === 429 ? 'rate-limiting' : 'unavailable'} (${detail})`, status, api.headers ? retryDelayMs(api.headers) : undefined);
  }
  if (status === 408 || status === 409 || status >= 500) return err;
  return new ModelRequestRefusedError(`the model endpoint refused the request (${detail}); ${hint(status, api.code, model)}`, status, api.code ?? undefined);
}

/** The setting a person changes for each refusal. */
function hint(status: number, code: string | null | undefined, model: string): string {
  if (status === 401) return 'check AI_API_KEY';
  if (status === 403) return 'check that AI_API_KEY may use this model and endpoint';
  if (status === 404) return `check AI_MODEL / AI_EMBEDDING_MODEL (${model}) and AI_BASE_URL`;
  if (code === 'context_length_exceeded') return 'set AI_CONTEXT_TOKENS to the model\'s context window (or lower), so texts are cut into windows that fit';
  return 'check the AI_* settings against what the endpoint supports';
}
