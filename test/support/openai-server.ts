import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
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
 * A stand-in for api.openai.com that speaks its REST wire format (bodies, error shapes, headers),
 * so product code runs against the real `openai` client with only `baseURL` changed, and tests can
 * inject the failures a remote model has: rate limits, outages, hung requests, bad answers. It
 * listens on 127.0.0.1 so worker child processes can reach it too.
 */

export interface OpenAiServerOptions {
  /** Default 'test-key'; a request with another bearer gets 401. */
  apiKey?: string;
  /** Default ['test-model', 'test-embedding']; any other model gets 404. */
  models?: string[];
  /** Default 8192; a prompt over this many tokens gets 400 context_length_exceeded. */
  contextTokens?: number;
  /** Delay before every answer, default 0. */
  latencyMs?: number;
  /** Default 16; a request's `dimensions` overrides it. */
  embeddingDimensions?: number;
  /**
   * The answer object of a chat request (sent as JSON; a string is sent as-is without a
   * response_format). Returning undefined falls back to a sample of the requested schema. It is
   * not checked against the schema, so a test can send any answer it likes.
   */
  answer?: (request: ChatRequest) => unknown;
  /** Default 0: a free port. */
  port?: number;
}

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

export interface RecordedCall {
  path: string;
  method: string;
  model?: string;
  /** The parsed JSON body (undefined for none, the raw text when it is not JSON). */
  body: unknown;
  authorized: boolean;
  receivedAt: number;
  finishedAt?: number;
  status?: number;
  aborted: boolean;
  fault?: Fault['kind'];
  /** The x-request-id it was answered with. */
  requestId?: string;
  messages?: ChatMessage[];
}

export interface FaultOptions {
  /** How many matching requests get the fault, default 1. */
  times?: number;
  /** Which requests count as matching, default all chat and embedding requests. */
  when?: (request: ChatRequest | EmbeddingRequest) => boolean;
}

export interface OpenAiServer {
  /** Base URL including '/v1', for the client's `baseURL`. */
  url: string;
  /** Every request received, in arrival order; each is filled in as it is answered. */
  calls: RecordedCall[];
  /** Queues a fault for the next matching request(s); queued faults are tried in order. */
  fail(fault: Fault, options?: FaultOptions): void;
  setLatency(ms: number): void;
  /** Clears calls and queued faults. */
  reset(): void;
  /** Resolves with the (filtered) calls once there are n of them; rejects after timeoutMs (default 30 s). */
  waitForCalls(n: number, filter?: (call: RecordedCall) => boolean, timeoutMs?: number): Promise<RecordedCall[]>;
  close(): Promise<void>;
}

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** Tokens the answer counts against the rate limit. */
  tokens?: number;
}

interface QueuedFault {
  fault: Fault;
  remaining: number;
  when: (request: ChatRequest | EmbeddingRequest) => boolean;
}

interface Waiter {
  n: number;
  filter: (call: RecordedCall) => boolean;
  settle: (error?: Error) => void;
}

type Handled = Reply | typeof HANG;

const HANG = Symbol('hang');
const LIMITS = { requests: 10_000, tokens: 2_000_000, windowMs: 60_000 };
const CHAT_PATH = '/v1/chat/completions';
const ENDPOINTS = ['GET /v1/models', `POST ${CHAT_PATH}`, 'POST /v1/embeddings'];

export async function startOpenAiServer(options: OpenAiServerOptions = {}): Promise<OpenAiServer> {
  const fake = new FakeOpenAi(options);
  const server = createServer((req, res) => {
    fake.handle(req, res).catch((err: unknown) => {
      // A client that left mid-body is already recorded as aborted by the close handler.
      if (res.headersSent || res.destroyed) return;
      const message = `the OpenAI test server failed: ${err instanceof Error ? err.message : String(err)}`;
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify(errorBody({ message, type: 'server_error' })));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the OpenAI test server has no TCP address');
  const { port } = address;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    calls: fake.calls,
    fail: (fault, faultOptions) => fake.fail(fault, faultOptions),
    setLatency: (ms) => {
      fake.latencyMs = ms;
    },
    reset: () => fake.reset(),
    waitForCalls: (n, filter, timeoutMs) => fake.waitForCalls(n, filter, timeoutMs),
    async close() {
      fake.closeWaiters();
      // Hung requests would otherwise keep close() waiting for ever.
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

/** The server's state and its answers; startOpenAiServer puts it behind node:http. */
class FakeOpenAi {
  readonly calls: RecordedCall[] = [];
  latencyMs: number;
  private faults: QueuedFault[] = [];
  private readonly waiters = new Set<Waiter>();
  private readonly usage = { windowStart: Date.now(), requests: 0, tokens: 0 };
  private readonly apiKey: string;
  private readonly models: string[];
  private readonly contextTokens: number;
  private readonly dimensions: number;

  constructor(private readonly options: OpenAiServerOptions) {
    this.apiKey = options.apiKey ?? 'test-key';
    this.models = options.models ?? ['test-model', 'test-embedding'];
    this.contextTokens = options.contextTokens ?? 8192;
    this.dimensions = options.embeddingDimensions ?? 16;
    this.latencyMs = options.latencyMs ?? 0;
  }

  fail(fault: Fault, { times = 1, when = () => true }: FaultOptions = {}): void {
    this.faults.push({ fault, remaining: times, when });
  }

  reset(): void {
    this.calls.length = 0;
    this.faults = [];
  }

  waitForCalls(n: number, filter: (call: RecordedCall) => boolean = () => true, timeoutMs = 30_000): Promise<RecordedCall[]> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        n,
        filter,
        settle: (error) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          if (error) reject(error);
          else resolve(this.calls.filter(filter));
        },
      };
      const timer = setTimeout(() => {
        const have = this.calls.filter(filter).length;
        waiter.settle(new Error(`timed out after ${timeoutMs} ms waiting for ${n} matching calls to the OpenAI test server; have ${have}`));
      }, timeoutMs);
      this.waiters.add(waiter);
      this.changed();
    });
  }

  closeWaiters(): void {
    for (const waiter of this.waiters) waiter.settle(new Error('the OpenAI test server closed'));
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const call: RecordedCall = {
      path: new URL(req.url ?? '/', 'http://localhost').pathname,
      method: req.method ?? 'GET',
      body: undefined,
      authorized: false,
      receivedAt: Date.now(),
      aborted: false,
    };
    this.calls.push(call);
    res.on('close', () => {
      if (res.writableFinished) return;
      call.aborted = true;
      call.finishedAt = Date.now();
      this.changed();
    });
    this.changed();
    recordBody(call, await readBody(req));
    const reply = this.route(call, req.headers.authorization);
    this.changed();
    if (reply === HANG) return;
    await pause(this.latencyMs, res);
    if (res.destroyed) return;
    call.requestId = `req_${randomBytes(16).toString('hex')}`;
    const payload = JSON.stringify(reply.body);
    res.writeHead(reply.status, {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(payload)),
      'openai-version': '2020-10-01',
      'openai-processing-ms': String(Date.now() - call.receivedAt),
      'x-request-id': call.requestId,
      ...this.rateLimitHeaders(reply.tokens ?? 0),
      ...reply.headers,
    });
    call.status = reply.status;
    call.finishedAt = Date.now();
    res.end(payload);
    this.changed();
  }

  /** OpenAI's order: the URL, then the key, then the body. */
  private route(call: RecordedCall, authorization: string | undefined): Handled {
    const endpoint = `${call.method} ${call.path}`;
    const modelId = call.method === 'GET' ? /^\/v1\/models\/([^/]+)$/.exec(call.path)?.[1] : undefined;
    if (!ENDPOINTS.includes(endpoint) && modelId === undefined) return errorReply(404, { message: `Invalid URL (${endpoint})` });
    const bearer = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
    call.authorized = bearer === this.apiKey;
    if (!call.authorized) return unauthorized(bearer);
    if (call.method === 'GET') {
      if (modelId === undefined) return { status: 200, body: { object: 'list', data: this.models.map(modelObject) } };
      const id = decodeURIComponent(modelId);
      return this.models.includes(id) ? { status: 200, body: modelObject(id) } : modelNotFound(id);
    }
    if (!isRecord(call.body)) {
      return errorReply(400, {
        message:
          "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
      });
    }
    return call.path === CHAT_PATH ? this.chat(call, call.body) : this.embeddings(call, call.body);
  }

  private chat(call: RecordedCall, body: Record<string, unknown>): Handled {
    const request = chatRequest(body);
    if (!('kind' in request)) return request;
    if (!this.models.includes(request.model)) return modelNotFound(request.model);
    const promptTokens = tokenCount(request.messages.map((m) => m.content).join(''));
    if (promptTokens > this.contextTokens) {
      return errorReply(400, {
        message: `This model's maximum context length is ${this.contextTokens} tokens. However, your messages resulted in ${promptTokens} tokens. Please reduce the length of the messages.`,
        param: 'messages',
        code: 'context_length_exceeded',
      });
    }
    const fault = this.takeFault(call, request);
    if (fault !== undefined) return fault;
    const kind = call.fault;
    const content =
      kind === 'invalid-json'
        ? 'Sure! Here is the JSON you asked for: {"answer": '
        : kind === 'schema-violation'
          ? JSON.stringify(violateJsonSchema(request.schema ?? { type: 'object' }))
          : answerContent(request, this.options.answer?.(request));
    const completionTokens = tokenCount(content);
    return { status: 200, body: completion(request.model, content, promptTokens, completionTokens), tokens: promptTokens + completionTokens };
  }

  private embeddings(call: RecordedCall, body: Record<string, unknown>): Handled {
    const request = embeddingRequest(body, this.dimensions);
    if (!('kind' in request)) return request;
    if (!this.models.includes(request.model)) return modelNotFound(request.model);
    const fault = this.takeFault(call, request);
    if (fault !== undefined) return fault;
    const tokens = request.input.reduce((sum, text) => sum + tokenCount(text), 0);
    const data = request.input.map((text, index) => {
      const vector = embeddingVector(text, request.dimensions);
      return { object: 'embedding', index, embedding: request.encodingFormat === 'base64' ? float32Base64(vector) : vector };
    });
    return { status: 200, body: { object: 'list', data, model: request.model, usage: { prompt_tokens: tokens, total_tokens: tokens } }, tokens };
  }

  /** Consumes the first queued fault that matches; a content fault is left to the chat answer. */
  private takeFault(call: RecordedCall, request: ChatRequest | EmbeddingRequest): Handled | undefined {
    const applies = (fault: Fault): boolean => request.kind === 'chat' || (fault.kind !== 'invalid-json' && fault.kind !== 'schema-violation');
    const queued = this.faults.find((q) => applies(q.fault) && q.when(request));
    if (queued === undefined) return undefined;
    queued.remaining -= 1;
    if (queued.remaining <= 0) this.faults = this.faults.filter((q) => q !== queued);
    call.fault = queued.fault.kind;
    if (queued.fault.kind === 'hang') return HANG;
    if (queued.fault.kind === 'status') return statusFault(queued.fault, request.model, this.apiKey);
    return undefined;
  }

  private rateLimitHeaders(tokens: number): Record<string, string> {
    const now = Date.now();
    if (now - this.usage.windowStart >= LIMITS.windowMs) Object.assign(this.usage, { windowStart: now, requests: 0, tokens: 0 });
    this.usage.requests += 1;
    this.usage.tokens += tokens;
    // OpenAI reports the time until the bucket is full again, refilled evenly over the window.
    const refill = (used: number, limit: number): string => openAiDuration(Math.ceil((used * LIMITS.windowMs) / limit));
    return {
      'x-ratelimit-limit-requests': String(LIMITS.requests),
      'x-ratelimit-remaining-requests': String(Math.max(0, LIMITS.requests - this.usage.requests)),
      'x-ratelimit-reset-requests': refill(this.usage.requests, LIMITS.requests),
      'x-ratelimit-limit-tokens': String(LIMITS.tokens),
      'x-ratelimit-remaining-tokens': String(Math.max(0, LIMITS.tokens - this.usage.tokens)),
      'x-ratelimit-reset-tokens': refill(this.usage.tokens, LIMITS.tokens),
    };
  }

  private changed(): void {
    for (const waiter of this.waiters) {
      if (this.calls.filter(waiter.filter).length >= waiter.n) waiter.settle();
    }
  }
}

// ---- OpenAI's wire format -------------------------------------------------------------------

interface ErrorFields {
  message: string;
  type?: string;
  param?: string | null;
  code?: string | number | null;
}

type StatusFault = Extract<Fault, { kind: 'status' }>;

function errorBody({ message, type = 'invalid_request_error', param = null, code = null }: ErrorFields): { error: Required<ErrorFields> } {
  return { error: { message, type, param, code } };
}

function errorReply(status: number, fields: ErrorFields, headers?: Record<string, string>): Reply {
  return { status, body: errorBody(fields), headers };
}

function incorrectKey(key: string): ErrorFields {
  const masked = key.length > 4 ? `${key.slice(0, 2)}***${key.slice(-2)}` : '***';
  return {
    message: `Incorrect API key provided: ${masked}. You can find your API key at https://platform.openai.com/account/api-keys.`,
    code: 'invalid_api_key',
  };
}

function unauthorized(bearer: string | undefined): Reply {
  if (bearer !== undefined) return errorReply(401, incorrectKey(bearer));
  return errorReply(401, {
    message:
      "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY). You can obtain an API key from https://platform.openai.com/account/api-keys.",
  });
}

function modelNotFoundFields(model: string): ErrorFields {
  return { message: `The model \`${model}\` does not exist or you do not have access to it.`, code: 'model_not_found' };
}

function modelNotFound(model: string): Reply {
  return errorReply(404, modelNotFoundFields(model));
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

function statusFault(fault: StatusFault, model: string, apiKey: string): Reply {
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

/** Go's time.Duration format, which OpenAI's rate-limit headers use: '20ms', '1.5s', '6m0s', '1h2m3s'. */
export function openAiDuration(ms: number): string {
  if (ms <= 0) return '0s';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = Number(((ms % 60_000) / 1000).toFixed(3));
  return `${hours > 0 ? `${hours}h` : ''}${hours > 0 || minutes > 0 ? `${minutes}m` : ''}${seconds}s`;
}

function chatRequest(body: Record<string, unknown>): ChatRequest | Reply {
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

function flattenMessages(messages: unknown[]): ChatMessage[] {
  return messages.filter(isRecord).map((m) => ({ role: typeof m.role === 'string' ? m.role : '', content: flattenContent(m.content) }));
}

/** A content array counts by its text parts, as the prompt a model reads. */
function flattenContent(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part: unknown) => (isRecord(part) && typeof part.text === 'string' ? part.text : '')).join('');
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

function embeddingRequest(body: Record<string, unknown>, defaultDimensions: number): EmbeddingRequest | Reply {
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

function modelObject(id: string): Record<string, unknown> {
  return { id, object: 'model', created: 1_700_000_000, owned_by: 'system' };
}

/** OpenAI's rough rule of four characters a token, enough for limits and usage figures. */
function tokenCount(text: string): number {
  return Math.ceil(text.length / 4);
}

// ---- node:http plumbing ---------------------------------------------------------------------

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
    req.once('close', () => {
      if (!req.complete) reject(new Error('the client left before sending the whole body'));
    });
  });
}

/** Keeps the parsed body for the record; a body that is not JSON is kept as its text (and answered 400). */
function recordBody(call: RecordedCall, text: string): void {
  let body: unknown = text === '' ? undefined : text;
  try {
    if (text !== '') body = JSON.parse(text) as unknown;
  } catch {
    // Not JSON: route() answers it as OpenAI does, with a 400.
  }
  call.body = body;
  if (!isRecord(body)) return;
  if (typeof body.model === 'string') call.model = body.model;
  if (call.path === CHAT_PATH && Array.isArray(body.messages)) call.messages = flattenMessages(body.messages);
}

/** Waits `ms`, or less if the client disconnects meanwhile. */
function pause(ms: number, res: ServerResponse): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      res.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    res.once('close', done);
  });
}
