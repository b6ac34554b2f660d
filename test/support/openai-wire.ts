import { randomBytes } from 'node:crypto';
import {
  hashString,
  isJsonSchema,
  type JsonSchema,
  sampleJsonSchema,
  seededRandom,
  strictSchemaProblem,
  violateJsonSchema,
  wordsOf,
} from './json-schema-sample.js';

/**
 * OpenAI's REST wire format as the test server speaks it: the requests it accepts and the bodies,
 * errors and rate-limit headers it answers with. Nothing here touches node:http or keeps state
 * between calls; openai-server.ts owns the server, its queued faults and its routing.
 */

export interface ChatMessage {
  role: string;
  content: string;
}

export interface ChatRequest {
  kind: 'chat';
  model: string;
  /** Content arrays are flattened to their text parts. */
  messages: ChatMessage[];
  /** The `response_format.json_schema.schema`, when one was requested. */
  schema?: JsonSchema;
  body: Record<string, unknown>;
}

export interface EmbeddingRequest {
  kind: 'embeddings';
  model: string;
  input: string[];
  dimensions: number;
  encodingFormat: 'float' | 'base64';
  body: Record<string, unknown>;
}

export type Fault =
  | {
      kind: 'status';
      status: 429 | 500 | 502 | 503 | 400 | 401 | 403 | 404;
      retryAfterSeconds?: number;
      retryAfterMs?: number;
      headers?: Record<string, string>;
      message?: string;
      code?: string;
    }
  /** Never answers; the call is recorded as aborted when the client gives up. */
  | { kind: 'hang' }
  /** 200 whose message content is not JSON. Chat requests only. */
  | { kind: 'invalid-json' }
  /** 200 whose content is JSON that breaks the requested schema. Chat requests only. */
  | { kind: 'schema-violation' };

/** An answer before it is sent; the server adds the headers every answer carries. */
export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** Tokens the answer counts against the rate limit. */
  tokens?: number;
}

/** The current rate-limit window and what has been used of it. */
export interface RateLimitUsage {
  windowStart: number;
  requests: number;
  tokens: number;
}

const LIMITS = { requests: 10_000, tokens: 2_000_000, windowMs: 60_000 };

// ---- Errors ---------------------------------------------------------------------------------

interface ErrorFields {
  message: string;
  type?: string;
  param?: string | null;
  code?: string | number | null;
}

type StatusFault = Extract<Fault, { kind: 'status' }>;

export function errorBody({ message, type = 'invalid_request_error', param = null, code = null }: ErrorFields): { error: Required<ErrorFields> } {
  return { error: { message, type, param, code } };
}

export function errorReply(status: number, fields: ErrorFields, headers?: Record<string, string>): Reply {
  return { status, body: errorBody(fields), headers };
}

function incorrectKey(key: string): ErrorFields {
  const masked = key.length > 4 ? `${key.slice(0, 2)}***${key.slice(-2)}` : '***';
  return {
    message: `Incorrect API key provided: ${masked}. You can find your API key at https://platform.openai.com/account/api-keys.`,
    code: 'invalid_api_key',
  };
}

export function unauthorized(bearer: string | undefined): Reply {
  if (bearer !== undefined) return errorReply(401, incorrectKey(bearer));
  return errorReply(401, {
    message:
      "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY). You can obtain an API key from https://platform.openai.com/account/api-keys.",
  });
}

function modelNotFoundFields(model: string): ErrorFields {
  return { message: `The model \`${model}\` does not exist or you do not have access to it.`, code: 'model_not_found' };
}

export function modelNotFound(model: string): Reply {
  return errorReply(404, modelNotFoundFields(model));
}

/** OpenAI's answer to a body that is not a JSON object. */
export function unparsableBody(): Reply {
  return errorReply(400, {
    message:
      "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
  });
}

export function contextLengthExceeded(contextTokens: number, promptTokens: number): Reply {
  return errorReply(400, {
    message: `This model's maximum context length is ${contextTokens} tokens. However, your messages resulted in ${promptTokens} tokens. Please reduce the length of the messages.`,
    param: 'messages',
    code: 'context_length_exceeded',
  });
}

/** What OpenAI sends for each status a fault can inject; `waitMs` is the advertised retry delay. */
const STATUS_ERRORS: Record<StatusFault['status'], (model: string, apiKey: string, waitMs: number) => ErrorFields> = {
  400: () => ({ message: 'The request was rejected as invalid.' }),
  401: (_model, apiKey) => incorrectKey(apiKey),
  403: () => ({ message: 'Country, region, or territory not supported', type: 'request_forbidden', code: 'unsupported_country_region_territory' }),
  404: (model) => modelNotFoundFields(model),
  429: (model, _apiKey, waitMs) => ({
    message: `Rate limit reached for ${model} in organization org-test on requests per min (RPM): Limit ${LIMITS.requests}, Used ${LIMITS.requests}, Requested 1. Please try again in ${openAiDuration(waitMs)}. Visit https://platform.openai.com/account/rate-limits to learn more.`,
    type: 'requests',
    code: 'rate_limit_exceeded',
  }),
  500: () => ({ message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error' }),
  // OpenAI's edge (Cloudflare) answers a 502 with this body, its code a number.
  502: () => ({ message: 'Bad gateway.', type: 'cf_bad_gateway', code: 502 }),
  503: () => ({ message: 'The server is overloaded or not ready yet.', type: 'server_error' }),
};

export function statusFault(fault: StatusFault, model: string, apiKey: string): Reply {
  const waitMs = fault.retryAfterMs ?? (fault.retryAfterSeconds === undefined ? 1000 : fault.retryAfterSeconds * 1000);
  const fields = STATUS_ERRORS[fault.status](model, apiKey, waitMs);
  const headers: Record<string, string> = {};
  if (fault.retryAfterSeconds !== undefined) headers['retry-after'] = String(fault.retryAfterSeconds);
  if (fault.retryAfterMs !== undefined) headers['retry-after-ms'] = String(fault.retryAfterMs);
  if (fault.status === 429) {
    headers['x-ratelimit-remaining-requests'] = '0';
    headers['x-ratelimit-reset-requests'] = openAiDuration(waitMs);
  }
  const body = { ...fields, message: fault.message ?? fields.message, code: fault.code ?? fields.code };
  return errorReply(fault.status, body, { ...headers, ...fault.headers });
}

// ---- Requests -------------------------------------------------------------------------------

export function chatRequest(body: Record<string, unknown>): ChatRequest | Reply {
  if (typeof body.model !== 'string' || body.model === '') return errorReply(400, { message: 'you must provide a model parameter' });
  if (!Array.isArray(body.messages)) {
    return errorReply(400, { message: "Missing required parameter: 'messages'.", param: 'messages', code: 'missing_required_parameter' });
  }
  const bad = body.messages.findIndex((m: unknown) => !isRecord(m) || typeof m.role !== 'string');
  if (bad >= 0) {
    return errorReply(400, { message: `Invalid value for 'messages[${bad}]': expected an object with a 'role'.`, param: `messages[${bad}]`, code: 'invalid_value' });
  }
  if (body.stream === true) {
    return errorReply(400, { message: 'stream: true is not supported by the OpenAI test server; send stream: false.', param: 'stream', code: 'unsupported_value' });
  }
  const request: ChatRequest = { kind: 'chat', model: body.model, messages: flattenMessages(body.messages), body };
  const format = body.response_format;
  if (!isRecord(format) || format.type !== 'json_schema') return request;
  const spec = format.json_schema;
  if (!isRecord(spec) || !isJsonSchema(spec.schema)) {
    const param = 'response_format.json_schema.schema';
    return errorReply(400, { message: `Missing required parameter: '${param}'.`, param, code: 'missing_required_parameter' });
  }
  const problem = spec.strict === true ? strictSchemaProblem(spec.schema) : undefined;
  if (problem !== undefined) {
    const name = typeof spec.name === 'string' ? spec.name : '';
    return errorReply(400, { message: `Invalid schema for response_format '${name}': ${problem}`, param: 'response_format', code: 'invalid_json_schema' });
  }
  return { ...request, schema: spec.schema };
}

export function flattenMessages(messages: unknown[]): ChatMessage[] {
  return messages.filter(isRecord).map((m) => ({ role: typeof m.role === 'string' ? m.role : '', content: flattenContent(m.content) }));
}

/** A content array counts by its text parts, as the prompt a model reads. */
function flattenContent(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part: unknown) => (isRecord(part) && typeof part.text === 'string' ? part.text : '')).join('');
}

export function embeddingRequest(body: Record<string, unknown>, defaultDimensions: number): EmbeddingRequest | Reply {
  if (typeof body.model !== 'string' || body.model === '') return errorReply(400, { message: 'you must provide a model parameter' });
  if (body.input === undefined) {
    return errorReply(400, { message: "Missing required parameter: 'input'.", param: 'input', code: 'missing_required_parameter' });
  }
  // Token-array inputs are valid at OpenAI but not served here.
  const input = typeof body.input === 'string' ? [body.input] : body.input;
  if (!isStringArray(input) || input.length === 0 || input.includes('')) {
    return errorReply(400, { message: "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.", param: 'input' });
  }
  const dimensions = body.dimensions ?? defaultDimensions;
  if (typeof dimensions !== 'number' || !Number.isInteger(dimensions) || dimensions < 1) {
    return errorReply(400, { message: "Invalid value for 'dimensions': expected a positive integer.", param: 'dimensions', code: 'invalid_value' });
  }
  const encodingFormat = body.encoding_format ?? 'float';
  if (encodingFormat !== 'float' && encodingFormat !== 'base64') {
    return errorReply(400, { message: `${JSON.stringify(encodingFormat)} is not one of ['float', 'base64'] - 'encoding_format'`, param: 'encoding_format' });
  }
  return { kind: 'embeddings', model: body.model, input, dimensions, encodingFormat, body };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

// ---- Answers and their rate-limit headers ---------------------------------------------------

/**
 * The 200 answer to a chat request. A content fault's broken JSON stands in for the answer;
 * otherwise `answer` (called only then) gives the test's own answer, or undefined for a sample.
 */
export function chatReply(request: ChatRequest, promptTokens: number, fault: Fault['kind'] | undefined, answer: () => unknown): Reply {
  const content =
    fault === 'invalid-json'
      ? 'Sure! Here is the JSON you asked for: {"answer": '
      : fault === 'schema-violation'
        ? JSON.stringify(violateJsonSchema(request.schema ?? { type: 'object' }))
        : answerContent(request, answer());
  const completionTokens = tokenCount(content);
  return { status: 200, body: completion(request.model, content, promptTokens, completionTokens), tokens: promptTokens + completionTokens };
}

function answerContent(request: ChatRequest, custom: unknown): string {
  const format = isRecord(request.body.response_format) ? request.body.response_format.type : undefined;
  const structured = format === 'json_schema' || format === 'json_object';
  if (custom !== undefined) return typeof custom === 'string' && !structured ? custom : JSON.stringify(custom);
  const users = request.messages.filter((m) => m.role === 'user');
  const words = wordsOf((users.length > 0 ? users : request.messages).map((m) => m.content).join(' '));
  if (request.schema !== undefined) return JSON.stringify(sampleJsonSchema(request.schema, words));
  const gist = words.slice(0, 8).join(' ');
  return structured ? JSON.stringify({ answer: gist }) : `A test answer about: ${gist}`;
}

function completion(model: string, content: string, promptTokens: number, completionTokens: number): Record<string, unknown> {
  return {
    id: `chatcmpl-${randomBytes(24).toString('base64url').replace(/[-_]/g, 'x').slice(0, 29)}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: 'assistant', content, refusal: null, annotations: [] }, logprobs: null, finish_reason: 'stop' }],
    usage: {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    },
    service_tier: 'default',
    system_fingerprint: 'fp_7e57e57e57',
  };
}

/** The answer to an embeddings request: one vector per input, in the requested encoding. */
export function embeddingsReply(request: EmbeddingRequest): Reply {
  const tokens = request.input.reduce((sum, text) => sum + tokenCount(text), 0);
  const data = request.input.map((text, index) => {
    const vector = embeddingVector(text, request.dimensions);
    return { object: 'embedding', index, embedding: request.encodingFormat === 'base64' ? float32Base64(vector) : vector };
  });
  return { status: 200, body: { object: 'list', data, model: request.model, usage: { prompt_tokens: tokens, total_tokens: tokens } }, tokens };
}

/**
 * A unit vector seeded by the text's hash: the same text always embeds the same, and a smaller
 * `dimensions` gives the renormalised prefix of a larger one, as OpenAI's shortened embeddings are.
 * Float32-rounded, so the float and base64 encodings carry identical numbers.
 */
function embeddingVector(text: string, dimensions: number): number[] {
  const next = seededRandom(hashString(text));
  const raw = Array.from({ length: dimensions }, () => next() * 2 - 1);
  const norm = Math.hypot(...raw) || 1;
  return raw.map((value) => Math.fround(value / norm));
}

/** OpenAI's base64 encoding: the little-endian float32 bytes. */
function float32Base64(vector: number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((value, i) => bytes.writeFloatLE(value, i * 4));
  return bytes.toString('base64');
}

export function modelObject(id: string): Record<string, unknown> {
  return { id, object: 'model', created: 1_700_000_000, owned_by: 'system' };
}

/** OpenAI's rough rule of four characters a token, enough for limits and usage figures. */
export function tokenCount(text: string): number {
  return Math.ceil(text.length / 4);
}

/** Counts an answer of `tokens` into `usage` and returns the x-ratelimit-* headers that follow. */
export function rateLimitHeaders(usage: RateLimitUsage, tokens: number): Record<string, string> {
  const now = Date.now();
  if (now - usage.windowStart >= LIMITS.windowMs) Object.assign(usage, { windowStart: now, requests: 0, tokens: 0 });
  usage.requests += 1;
  usage.tokens += tokens;
  // OpenAI reports the time until the bucket is full again, refilled evenly over the window.
  const refill = (used: number, limit: number): string => openAiDuration(Math.ceil((used * LIMITS.windowMs) / limit));
  return {
    'x-ratelimit-limit-requests': String(LIMITS.requests),
    'x-ratelimit-remaining-requests': String(Math.max(0, LIMITS.requests - usage.requests)),
    'x-ratelimit-reset-requests': refill(usage.requests, LIMITS.requests),
    'x-ratelimit-limit-tokens': String(LIMITS.tokens),
    'x-ratelimit-remaining-tokens': String(Math.max(0, LIMITS.tokens - usage.tokens)),
    'x-ratelimit-reset-tokens': refill(usage.tokens, LIMITS.tokens),
  };
}

/** Go's time.Duration format, which OpenAI's rate-limit headers use: '20ms', '1.5s', '6m0s', '1h2m3s'. */
export function openAiDuration(ms: number): string {
  if (ms <= 0) return '0s';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = Number(((ms % 60_000) / 1000).toFixed(3));
  return `${hours > 0 ? `${hours}h` : ''}${hours > 0 || minutes > 0 ? `${minutes}m` : ''}${seconds}s`;
}
