import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  type ChatMessage,
  chatReply,
  type ChatRequest,
  chatRequest,
  contextLengthExceeded,
  embeddingRequest,
  type EmbeddingRequest,
  embeddingsReply,
  errorBody,
  errorReply,
  type Fault,
  flattenMessages,
  isRecord,
  modelNotFound,
  modelObject,
  rateLimitHeaders,
  type RateLimitUsage,
  type Reply,
  statusFault,
  tokenCount,
  unauthorized,
  unparsableBody,
} from './openai-wire.js';

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

// The server's API speaks in these (fail() takes a Fault, answer() a ChatRequest), so tests get them here.
export type { ChatMessage, ChatRequest, EmbeddingRequest, Fault } from './openai-wire.js';
export { openAiDuration } from './openai-wire.js';

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
  private readonly usage: RateLimitUsage = { windowStart: Date.now(), requests: 0, tokens: 0 };
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
      ...rateLimitHeaders(this.usage, reply.tokens ?? 0),
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
    if (!isRecord(call.body)) return unparsableBody();
    return call.path === CHAT_PATH ? this.chat(call, call.body) : this.embeddings(call, call.body);
  }

  private chat(call: RecordedCall, body: Record<string, unknown>): Handled {
    const request = chatRequest(body);
    if (!('kind' in request)) return request;
    if (!this.models.includes(request.model)) return modelNotFound(request.model);
    const promptTokens = tokenCount(request.messages.map((m) => m.content).join(''));
    if (promptTokens > this.contextTokens) return contextLengthExceeded(this.contextTokens, promptTokens);
    const fault = this.takeFault(call, request);
    if (fault !== undefined) return fault;
    return chatReply(request, promptTokens, call.fault, () => this.options.answer?.(request));
  }

  private embeddings(call: RecordedCall, body: Record<string, unknown>): Handled {
    const request = embeddingRequest(body, this.dimensions);
    if (!('kind' in request)) return request;
    if (!this.models.includes(request.model)) return modelNotFound(request.model);
    const fault = this.takeFault(call, request);
    if (fault !== undefined) return fault;
    return embeddingsReply(request);
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

  private changed(): void {
    for (const waiter of this.waiters) {
      if (this.calls.filter(waiter.filter).length >= waiter.n) waiter.settle();
    }
  }
}

// ---- node:http plumbing ---------------------------------------------------------------------

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
