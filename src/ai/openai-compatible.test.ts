import { APIConnectionTimeoutError, APIUserAbortError, InternalServerError } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type OpenAiServer, startOpenAiServer } from '../../test/support/openai-server.js';
import { ModelOutputInvalidError, ModelRateLimitedError, ModelRequestRefusedError } from './errors.js';
import type { DocumentModel } from './model.js';
import { createOpenAiCompatibleModel, type OpenAiCompatibleOptions } from './openai-compatible.js';
import { loadPromptSet } from './prompts.js';

// The provider with the real openai client against the test server that speaks its protocol.

let server: OpenAiServer;
let model: DocumentModel;

const answer = {
  title: 'Harvest report',
  summary: 'The northern orchards yielded more apples than last year.',
  keywords: ['apples', 'orchards', 'apples'],
  language: 'ENG',
  entities: [{ name: 'Northern Orchards', kind: 'organization' as const }],
  labels: ['report'],
  questions: [{ question: 'Which orchards?', answer: 'The northern ones.' }],
};

function options(overrides: Partial<OpenAiCompatibleOptions> = {}): OpenAiCompatibleOptions {
  return {
    baseURL: server.url,
    apiKey: 'test-key',
    model: 'test-model',
    embeddingModel: 'test-embedding',
    labels: ['report', 'invoice'],
    questions: 1,
    maxOutputTokens: 512,
    timeoutMs: 5_000,
    prices: { 'test-model': { input: 0.5, output: 1.5 } },
    prompts: loadPromptSet(),
    ...overrides,
  };
}

beforeAll(async () => {
  server = await startOpenAiServer({ answer: () => answer });
  model = createOpenAiCompatibleModel(options());
});
afterAll(() => server.close());
beforeEach(() => server.reset());

const rejection = (promise: Promise<unknown>): Promise<unknown> => promise.then(() => undefined, (err: unknown) => err);

describe('describe', () => {
  it('sends the versioned prompt with a strict JSON schema and reads a validated answer with its usage and cost', async () => {
    const { insights, call } = await model.describe('Apples grew well in the northern orchards.', undefined);

    expect(insights).toEqual({ ...answer, keywords: ['apples', 'orchards'], language: 'eng' });
    const [sent] = server.calls;
    const body = sent!.body as { model: string; max_tokens: number; temperature: number; response_format: { type: string; json_schema: { strict: boolean; schema: { required: string[] } } } };
    expect(body).toMatchObject({ model: 'test-model', max_tokens: 512, temperature: 0, response_format: { type: 'json_schema', json_schema: { strict: true } } });
    expect(body.response_format.json_schema.schema.required).toEqual(['title', 'summary', 'keywords', 'language', 'entities', 'labels', 'questions']);
    expect(sent!.messages![0]!.content).toContain('"report", "invoice"');
    expect(sent!.messages![1]!.content).toContain('<document>\nApples grew well in the northern orchards.\n</document>');
    expect(call).toMatchObject({ kind: 'document', model: 'test-model' });
    expect(call.promptTokens).toBeGreaterThan(0);
    expect(call.costUsd).toBeCloseTo((call.promptTokens * 0.5 + call.completionTokens * 1.5) / 1e6, 12);
    expect(call.repaired).toBeUndefined();
  });

  it('names the part of a long document and leaves labels and questions out when none are configured', async () => {
    const server2 = await startOpenAiServer();
    try {
      const { insights, call } = await createOpenAiCompatibleModel({ ...options({ labels: [], questions: 0, prices: {} }), baseURL: server2.url }).describe('Part two text.', { part: 2, of: 5 });
      expect(insights.labels).toEqual([]);
      expect(insights.questions).toEqual([]);
      expect(call).toMatchObject({ kind: 'window', part: 2, costUsd: null });
      const body = server2.calls[0]!.body as { response_format: { json_schema: { schema: { required: string[] } } } };
      expect(body.response_format.json_schema.schema.required).not.toContain('labels');
      expect(server2.calls[0]!.messages![1]!.content).toContain('part 2 of 5');
    } finally {
      await server2.close();
    }
  });

  it('repairs an answer that breaks the schema once, counting both calls', async () => {
    server.fail({ kind: 'schema-violation' });
    const { call } = await model.describe('Some text.', undefined);
    expect(call.repaired).toBe(true);
    expect(server.calls).toHaveLength(2);
    const repair = server.calls[1]!.messages!;
    expect(repair.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(repair[3]!.content).toContain('did not match the required JSON schema');
  });

  it('fails as ModelOutputInvalid with the start of the answer when the repair fails too', async () => {
    server.fail({ kind: 'invalid-json' }, { times: 2 });
    const err = await rejection(model.describe('Some text.', undefined));
    expect(err).toBeInstanceOf(ModelOutputInvalidError);
    expect((err as ModelOutputInvalidError).answerHead.length).toBeGreaterThan(0);
    expect((err as ModelOutputInvalidError).answerHead.length).toBeLessThanOrEqual(500);
    expect(server.calls).toHaveLength(2);
  });
});

describe('failures', () => {
  it('429 and 503 carry the delay the server asks for', async () => {
    server.fail({ kind: 'status', status: 429, retryAfterSeconds: 7 });
    const limited = await rejection(model.describe('x', undefined));
    expect(limited).toBeInstanceOf(ModelRateLimitedError);
    expect((limited as ModelRateLimitedError).retryAfterMs).toBe(7000);

    server.fail({ kind: 'status', status: 503, retryAfterMs: 1500 });
    const busy = await rejection(model.describe('x', undefined));
    expect(busy).toMatchObject({ name: 'ModelRateLimitedError', status: 503, retryAfterMs: 1500 });
  });

  it('a refused request names the setting to fix', async () => {
    const badKey = createOpenAiCompatibleModel(options({ apiKey: 'wrong' }));
    expect(await rejection(badKey.describe('x', undefined))).toMatchObject({ name: 'ModelRequestRefusedError', status: 401, message: expect.stringContaining('check AI_API_KEY') as string });
    const unknown = createOpenAiCompatibleModel(options({ model: 'no-such-model' }));
    expect(await rejection(unknown.describe('x', undefined))).toMatchObject({ status: 404, code: 'model_not_found', message: expect.stringContaining('AI_MODEL') as string });
    const long = await rejection(model.describe('word '.repeat(40_000), undefined));
    expect(long).toBeInstanceOf(ModelRequestRefusedError);
    expect(long).toMatchObject({ status: 400, code: 'context_length_exceeded', message: expect.stringContaining('AI_CONTEXT_TOKENS') as string });
  });

  it('5xx and timeouts stay the client’s errors, which Temporal retries', async () => {
    server.fail({ kind: 'status', status: 500 });
    expect(await rejection(model.describe('x', undefined))).toBeInstanceOf(InternalServerError);
    server.fail({ kind: 'hang' });
    const impatient = createOpenAiCompatibleModel(options({ timeoutMs: 200 }));
    expect(await rejection(impatient.describe('x', undefined))).toBeInstanceOf(APIConnectionTimeoutError);
  });

  it('an abort ends the call in flight', async () => {
    server.fail({ kind: 'hang' });
    const controller = new AbortController();
    const pending = rejection(model.describe('x', undefined, { signal: controller.signal }));
    await server.waitForCalls(1);
    controller.abort();
    expect(await pending).toBeInstanceOf(APIUserAbortError);
    await expect.poll(() => server.calls[0]!.aborted).toBe(true);
  });
});

describe('combine and embed', () => {
  it('combines partial analyses in one call', async () => {
    const { call } = await model.combine([answer, { ...answer, title: 'Second part' }].map((a) => ({ ...a, language: 'eng' })));
    expect(call.kind).toBe('combine');
    expect(server.calls[0]!.messages![1]!.content).toContain('Second part');
  });

  it('embeds texts in order, with the embedding model and its usage', async () => {
    const { vectors, call } = await model.embed(['alpha', 'beta', 'alpha']);
    expect(vectors).toHaveLength(3);
    expect(vectors[0]).toEqual(vectors[2]);
    expect(vectors[0]).not.toEqual(vectors[1]);
    expect(vectors[0]).toHaveLength(16);
    expect(call).toMatchObject({ kind: 'embedding', model: 'test-embedding', completionTokens: 0, costUsd: null });
    expect((server.calls[0]!.body as { encoding_format: string }).encoding_format).toBe('float');
  });
});
