import { execFile } from 'node:child_process';
import { inspect, promisify } from 'node:util';
import OpenAI from 'openai';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type OpenAiServer, startOpenAiServer } from './support/openai-server.js';

// The test OpenAI server must satisfy the real `openai` client: every case goes through it.

const Insight = z.object({
  title: z.string().min(3).max(40),
  language: z.enum(['en', 'de', 'fr']),
  keywords: z.array(z.string().min(1)).min(1).max(4),
  score: z.number().min(0).max(1),
  pages: z.int().min(1),
  note: z.string().nullable(),
  contact: z.object({ email: z.email(), id: z.uuid(), seen: z.iso.datetime() }),
  verified: z.boolean(),
});
const insightSchema = z.toJSONSchema(Insight, { target: 'draft-7' });

const TreeNode = z.object({
  name: z.string(),
  get children() {
    return z.array(TreeNode).max(2);
  },
});

let server: OpenAiServer;
let client: OpenAI;

beforeAll(async () => {
  server = await startOpenAiServer();
  client = new OpenAI({ apiKey: 'test-key', baseURL: server.url, maxRetries: 0 });
});
afterAll(() => server.close());
beforeEach(() => {
  server.reset();
  server.setLatency(0);
});

function structured(prompt: string, schema: Record<string, unknown> = insightSchema): ChatCompletionCreateParamsNonStreaming {
  return {
    model: 'test-model',
    messages: [
      { role: 'system', content: 'Describe the document.' },
      { role: 'user', content: prompt },
    ],
    response_format: { type: 'json_schema', json_schema: { name: 'insight', schema, strict: true } },
  };
}

function contentOf(completion: OpenAI.ChatCompletion): string {
  const content = completion.choices[0]?.message.content;
  if (typeof content !== 'string') throw new Error(`no content in ${inspect(completion)}`);
  return content;
}

async function failure<E extends Error>(type: new (...args: never[]) => E, call: Promise<unknown>): Promise<E> {
  const outcome = await call.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if ('error' in outcome && outcome.error instanceof type) return outcome.error;
  throw new Error(`expected ${type.name}, got ${inspect(outcome)}`);
}

describe('chat completions', () => {
  it('answers a json_schema request with JSON that the zod schema accepts, drawn from the prompt', async () => {
    const prompt = 'Quarterly harvest report for the northern orchards';
    const first = Insight.parse(JSON.parse(contentOf(await client.chat.completions.create(structured(prompt)))));
    const again = Insight.parse(JSON.parse(contentOf(await client.chat.completions.create(structured(prompt)))));
    const other = Insight.parse(JSON.parse(contentOf(await client.chat.completions.create(structured('Invoice from a bakery in Lyon')))));

    expect(again).toEqual(first);
    expect(other).not.toEqual(first);
    const promptWords = prompt.split(' ');
    for (const keyword of first.keywords) expect(keyword.split(' ').every((w) => promptWords.includes(w))).toBe(true);
  });

  it('follows $ref into $defs for a recursive schema', async () => {
    const schema = z.toJSONSchema(z.object({ root: TreeNode }));
    expect(JSON.stringify(schema)).toContain('$defs');
    const completion = await client.chat.completions.create(structured('family tree of apple varieties', schema));
    expect(z.object({ root: TreeNode }).safeParse(JSON.parse(contentOf(completion))).success).toBe(true);
  });

  it('rejects a strict schema with an optional property, as OpenAI does', async () => {
    const schema = z.toJSONSchema(z.object({ title: z.string(), note: z.string().optional() }), { target: 'draft-7' });
    const err = await failure(OpenAI.BadRequestError, client.chat.completions.create(structured('x', schema)));
    expect(err.code).toBe('invalid_json_schema');
    expect(err.message).toContain("Invalid schema for response_format 'insight': In context=(), 'required' is required");
    expect(err.message).toContain("Missing 'note'.");
  });

  it('sends the answer of a custom answer function', async () => {
    const custom = await startOpenAiServer({ answer: (request) => (request.schema ? { title: `custom ${request.model}` } : undefined) });
    try {
      const customClient = new OpenAI({ apiKey: 'test-key', baseURL: custom.url, maxRetries: 0 });
      const completion = await customClient.chat.completions.create(structured('anything'));
      expect(JSON.parse(contentOf(completion))).toEqual({ title: 'custom test-model' });
      const plain = await customClient.chat.completions.create({ model: 'test-model', messages: [{ role: 'user', content: 'hi there' }] });
      expect(contentOf(plain)).toBe('A test answer about: hi there');
    } finally {
      await custom.close();
    }
  });

  it('answers in OpenAI’s shape with its headers, and records the call', async () => {
    const { data, response } = await client.chat.completions
      .create({
        model: 'test-model',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: [{ type: 'text', text: 'Hello' }, { type: 'text', text: ' world' }] },
        ],
      })
      .withResponse();

    expect(data).toMatchObject({ object: 'chat.completion', model: 'test-model', choices: [{ index: 0, finish_reason: 'stop', logprobs: null }] });
    expect(data.id).toMatch(/^chatcmpl-/);
    expect(data.choices[0]?.message).toMatchObject({ role: 'assistant', refusal: null });
    const content = contentOf(data);
    expect(data.usage).toMatchObject({ prompt_tokens: Math.ceil('Be brief.Hello world'.length / 4), completion_tokens: Math.ceil(content.length / 4) });
    expect(response.headers.get('x-ratelimit-remaining-requests')).toMatch(/^\d+$/);
    expect(response.headers.get('x-ratelimit-reset-requests')).toMatch(/^(\d+ms|(\d+h)?(\d+m)?[\d.]+s)$/);
    expect(response.headers.get('x-ratelimit-limit-tokens')).toMatch(/^\d+$/);
    expect(response.headers.get('openai-processing-ms')).toMatch(/^\d+$/);

    const [call] = server.calls;
    expect(call).toMatchObject({
      path: '/v1/chat/completions',
      method: 'POST',
      model: 'test-model',
      authorized: true,
      status: 200,
      aborted: false,
      requestId: response.headers.get('x-request-id'),
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hello world' },
      ],
    });
    expect(call?.finishedAt).toBeGreaterThanOrEqual(call?.receivedAt ?? Infinity);
  });

  it('refuses streaming, which it does not serve', async () => {
    const err = await failure(OpenAI.BadRequestError, client.chat.completions.create({ ...structured('x'), stream: true }));
    expect(err.param).toBe('stream');
  });
});

describe('errors OpenAI gives on its own', () => {
  it('401s a wrong key', async () => {
    const wrongKey = new OpenAI({ apiKey: 'wrong-key', baseURL: server.url, maxRetries: 0 });
    const err = await failure(OpenAI.AuthenticationError, wrongKey.chat.completions.create(structured('x')));
    expect(err.code).toBe('invalid_api_key');
    expect(err.message).toContain('Incorrect API key provided: wr***ey.');
    expect(server.calls[0]?.authorized).toBe(false);
  });

  it('404s an unknown model', async () => {
    const err = await failure(OpenAI.NotFoundError, client.chat.completions.create({ ...structured('x'), model: 'gpt-9' }));
    expect(err.code).toBe('model_not_found');
    expect(err.message).toContain('The model `gpt-9` does not exist or you do not have access to it.');
    expect(server.calls[0]?.model).toBe('gpt-9');
  });

  it('400s a prompt over the context window', async () => {
    const err = await failure(OpenAI.BadRequestError, client.chat.completions.create(structured('x'.repeat(8192 * 4 + 4))));
    expect(err.code).toBe('context_length_exceeded');
    expect(err.param).toBe('messages');
    expect(err.message).toMatch(/maximum context length is 8192 tokens\. However, your messages resulted in \d+ tokens\./);
  });

  it('lists its models and 404s an unknown path', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['test-model', 'test-embedding']);
    const response = await fetch(`${server.url}/nope`, { headers: { authorization: 'Bearer test-key' } });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { message: 'Invalid URL (GET /v1/nope)', type: 'invalid_request_error' } });
  });
});

describe('faults', () => {
  it('429s with retry-after headers the client exposes', async () => {
    server.fail({ kind: 'status', status: 429, retryAfterSeconds: 1.5, retryAfterMs: 1500 });
    const err = await failure(OpenAI.RateLimitError, client.chat.completions.create(structured('x')));
    expect(err.code).toBe('rate_limit_exceeded');
    expect(err.type).toBe('requests');
    expect(err.message).toContain('Please try again in 1.5s.');
    expect(err.headers.get('retry-after')).toBe('1.5');
    expect(err.headers.get('retry-after-ms')).toBe('1500');
    expect(err.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(err.headers.get('x-ratelimit-reset-requests')).toBe('1.5s');
    expect(server.calls[0]).toMatchObject({ status: 429, fault: 'status' });
  });

  it('500s and 503s as server errors, with custom headers', async () => {
    server.fail({ kind: 'status', status: 500 });
    server.fail({ kind: 'status', status: 503, retryAfterSeconds: 2, headers: { 'x-test': 'yes' } });
    const internal = await failure(OpenAI.InternalServerError, client.chat.completions.create(structured('x')));
    expect(internal.type).toBe('server_error');
    const overloaded = await failure(OpenAI.InternalServerError, client.chat.completions.create(structured('x')));
    expect(overloaded.status).toBe(503);
    expect(overloaded.message).toContain('The server is overloaded or not ready yet.');
    expect(overloaded.headers.get('retry-after')).toBe('2');
    expect(overloaded.headers.get('x-test')).toBe('yes');
  });

  it('hangs until the client aborts, and records the abort', async () => {
    server.fail({ kind: 'hang' });
    const controller = new AbortController();
    const pending = client.chat.completions.create(structured('x'), { signal: controller.signal });
    await server.waitForCalls(1, (c) => c.fault === 'hang', 5_000);
    controller.abort();
    await failure(OpenAI.APIUserAbortError, pending);
    const [call] = await server.waitForCalls(1, (c) => c.aborted, 5_000);
    expect(call?.status).toBeUndefined();
    expect(call?.finishedAt).toBeGreaterThanOrEqual(call?.receivedAt ?? Infinity);
  });

  it('sends content that is not JSON', async () => {
    server.fail({ kind: 'invalid-json' });
    const content = contentOf(await client.chat.completions.create(structured('x')));
    expect(() => JSON.parse(content) as unknown).toThrow(SyntaxError);
    expect(server.calls[0]?.fault).toBe('invalid-json');
  });

  it('sends JSON that breaks the requested schema', async () => {
    server.fail({ kind: 'schema-violation' });
    const answer: unknown = JSON.parse(contentOf(await client.chat.completions.create(structured('x'))));
    const parsed = Insight.safeParse(answer);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => issue.path[0])).toEqual(expect.arrayContaining(['title', 'language', 'pages']));
  });

  it('applies a fault as many times as asked, then answers again', async () => {
    server.fail({ kind: 'status', status: 502 }, { times: 2 });
    await failure(OpenAI.InternalServerError, client.chat.completions.create(structured('x')));
    await failure(OpenAI.InternalServerError, client.chat.completions.create(structured('x')));
    await client.chat.completions.create(structured('x'));
    expect(server.calls.map((c) => c.status)).toEqual([502, 502, 200]);
  });

  it('applies a fault only to the requests it matches', async () => {
    server.fail(
      { kind: 'status', status: 400, code: 'poisoned', message: 'poison pill' },
      { times: Infinity, when: (request) => request.kind === 'chat' && request.messages.some((m) => m.content.includes('poison')) },
    );
    await client.chat.completions.create(structured('harmless'));
    const err = await failure(OpenAI.BadRequestError, client.chat.completions.create(structured('poison apple')));
    expect(err.code).toBe('poisoned');
    await client.embeddings.create({ model: 'test-embedding', input: 'poison' });
    expect(server.calls.map((c) => c.status)).toEqual([200, 400, 200]);
  });

  it('waits the latency before answering, and records a client that leaves meanwhile', async () => {
    server.setLatency(120);
    const started = performance.now();
    await client.chat.completions.create(structured('x'));
    expect(performance.now() - started).toBeGreaterThanOrEqual(120);

    server.setLatency(10_000);
    const controller = new AbortController();
    const pending = client.chat.completions.create(structured('x'), { signal: controller.signal });
    await server.waitForCalls(2);
    controller.abort();
    await failure(OpenAI.APIUserAbortError, pending);
    expect(await server.waitForCalls(1, (c) => c.aborted, 5_000)).toHaveLength(1);
  });
});

describe('embeddings', () => {
  it('gives the same unit vectors as base64 (the client’s default) and as floats', async () => {
    const input = ['alpha orchard', 'beta bakery'];
    const viaBase64 = await client.embeddings.create({ model: 'test-embedding', input });
    const viaFloat = await client.embeddings.create({ model: 'test-embedding', input, encoding_format: 'float' });
    const again = await client.embeddings.create({ model: 'test-embedding', input: 'alpha orchard' });

    expect(server.calls.map((c) => c.body)).toMatchObject([{ encoding_format: 'base64' }, { encoding_format: 'float' }, { encoding_format: 'base64' }]);
    const vectors = viaBase64.data.map((d) => d.embedding);
    expect(viaFloat.data.map((d) => d.embedding)).toEqual(vectors);
    expect(again.data[0]?.embedding).toEqual(vectors[0]);
    expect(vectors[0]).not.toEqual(vectors[1]);
    for (const vector of vectors) {
      expect(vector).toHaveLength(16);
      expect(Math.hypot(...vector)).toBeCloseTo(1, 5);
    }
    const tokens = input.reduce((sum, text) => sum + Math.ceil(text.length / 4), 0);
    expect(viaBase64.usage).toEqual({ prompt_tokens: tokens, total_tokens: tokens });
  });

  it('honours dimensions', async () => {
    const short = await client.embeddings.create({ model: 'test-embedding', input: 'alpha orchard', dimensions: 8 });
    expect(short.data[0]?.embedding).toHaveLength(8);
  });
});

it('is reachable from another process', async () => {
  const script = "const r = await fetch(process.argv[1] + '/models', { headers: { authorization: 'Bearer test-key' } }); console.log(r.status);";
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, server.url]);
  expect(stdout.trim()).toBe('200');
  expect(server.calls[0]?.path).toBe('/v1/models');
});
