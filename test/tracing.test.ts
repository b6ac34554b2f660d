import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort } from '../scripts/lib/net.js';
import type { Config } from '../src/config.js';
import { startIngest } from '../src/pipelines/ingest.js';
import { ARTICLE } from './support/fixtures.js';
import { startHarness, type Harness } from './support/harness.js';
import { type OpenAiServer, startOpenAiServer } from './support/openai-server.js';
import { type EntryProcess, exitedUnexpectedly, startEntry, stopEntry, untilApiReady, untilPolling } from './support/processes.js';
import { waitFor } from './support/stack.js';

// OpenTelemetry across the real processes: a request with a `traceparent` reaches the api
// process, which starts an ingest run; the worker process runs it. Both export their spans over
// OTLP/HTTP (JSON) to a collector this test plays, configured only by the standard OTEL_*
// variables. Every span must belong to the caller's trace and hang off a parent in it.

/** One span as OTLP/JSON writes it (ids in hex), with its process's service.name. */
interface Span {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: { key: string; value: { stringValue?: string; intValue?: number | string; doubleValue?: number; boolValue?: boolean } }[];
}

interface OtlpJson {
  resourceSpans: {
    resource: { attributes: { key: string; value: { stringValue?: string } }[] };
    scopeSpans: { spans: Omit<Span, 'service'>[] }[];
  }[];
}

const SERVER = 2; // SpanKind.SERVER in OTLP (SPAN_KIND_SERVER)
/** The ingest workflow's activities (src/workflows/ingest.ts). */
const STEPS = ['download', 'extract', 'analyse', 'persist', 'cleanup'];

let collector: Server;
const spans: Span[] = [];
let h: Harness;
let config: Config;
let model: OpenAiServer;
const processes: EntryProcess[] = [];

beforeAll(async () => {
  collector = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpJson;
        for (const { resource, scopeSpans } of body.resourceSpans) {
          const service = resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
          for (const scope of scopeSpans) for (const span of scope.spans) spans.push({ ...span, service });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;

  h = await startHarness({ worker: false, configOverrides: { PORT: String(await freePort()), LOG_LEVEL: 'info', API_KEY: 'tracing-api-key' } });
  // The OTEL_* variables travel to the processes with their settings.
  config = {
    ...h.config,
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    // Export within a fraction of a second instead of every 5 s.
    OTEL_BSP_SCHEDULE_DELAY: '100',
  } as Config;
});

afterAll(async () => {
  for (const proc of processes) await stopEntry(proc, 'SIGKILL');
  await h?.stop();
  await model?.close();
  await new Promise((resolve) => collector?.close(resolve));
});

it('continues the caller’s trace from the api request through the workflow run into every activity', async () => {
  const api = startEntry('src/api/main.ts', config);
  const worker = startEntry('src/worker/main.ts', config);
  processes.push(api, worker);
  const failIf = (): Error | undefined => exitedUnexpectedly(api, 'the api')() ?? exitedUnexpectedly(worker, 'the worker')();
  const base = `http://127.0.0.1:${config.PORT}`;
  await untilApiReady(api, config.PORT);
  await untilPolling(worker);
  expect(api.output()).toContain('"tracing":"otlp (http/json)"');
  expect(worker.output()).toContain('"tracing":"otlp (http/json)"');

  await h.put('traced/report.txt', ARTICLE, 'text/plain');
  const traceId = randomBytes(16).toString('hex');
  const callerSpan = randomBytes(8).toString('hex');
  const res = await fetch(`${base}/api/v1/workflows/ingest?wait=60s`, {
    method: 'POST',
    headers: { authorization: `Bearer ${config.API_KEY}`, 'content-type': 'application/json', traceparent: `00-${traceId}-${callerSpan}-01` },
    body: JSON.stringify({ bucket: h.bucket, key: 'traced/report.txt' }),
  });
  expect(res.status).toBe(200);
  expect(((await res.json()) as { status: string }).status).toBe('COMPLETED');

  // Each process sends its spans in batches, a moment after they end.
  const expected = ['POST /api/v1/workflows/ingest', 'StartWorkflow:ingest', 'RunWorkflow:ingest', ...STEPS.flatMap((step) => [`StartActivity:${step}`, `RunActivity:${step}`])];
  const trace = await waitFor(() => {
    const mine = spans.filter((s) => s.traceId === traceId);
    return expected.every((name) => mine.some((s) => s.name === name)) ? mine : undefined;
  }, { timeoutMs: 30_000, description: `the spans ${expected.join(', ')} in the caller's trace`, failIf });

  // The api's server span continues the caller's span; the start is its child.
  const request = trace.find((s) => s.kind === SERVER && s.service === 'harvester-api');
  expect(request).toMatchObject({ name: 'POST /api/v1/workflows/ingest', parentSpanId: callerSpan });
  const start = trace.find((s) => s.name === 'StartWorkflow:ingest');
  expect(start).toMatchObject({ service: 'harvester-api', parentSpanId: request?.spanId });

  // The worker's side: the run under the start, each step scheduled by the run and run under that.
  const run = trace.find((s) => s.name === 'RunWorkflow:ingest');
  expect(run).toMatchObject({ service: 'harvester-worker', parentSpanId: start?.spanId });
  for (const step of STEPS) {
    const scheduled = trace.find((s) => s.name === `StartActivity:${step}`);
    expect(scheduled, step).toMatchObject({ service: 'harvester-worker', parentSpanId: run?.spanId });
    expect(trace.find((s) => s.name === `RunActivity:${step}`), step).toMatchObject({ service: 'harvester-worker', parentSpanId: scheduled?.spanId });
  }
  // No orphans: every span's parent is in the trace, but for the request's (the caller's span).
  const ids = new Set(trace.map((s) => s.spanId));
  const orphans = trace.filter((s) => s !== request && !ids.has(s.parentSpanId ?? ''));
  expect(orphans.map((s) => s.name)).toEqual([]);

  expect(await stopEntry(api), api.output()).toBe(0);
  expect(await stopEntry(worker), worker.output()).toBe(0);
}, 120_000);

it('describes each model call on its activity span with the GenAI attributes', async () => {
  model = await startOpenAiServer();
  const worker = startEntry('src/worker/main.ts', {
    ...config,
    AI_PROVIDER: 'openai-compatible',
    AI_BASE_URL: model.url,
    AI_API_KEY: 'test-key',
    AI_MODEL: 'test-model',
    AI_PRICES: { 'test-model': { input: 1, output: 2 } },
  });
  processes.push(worker);
  await untilPolling(worker);

  const { etag } = await h.put('traced/model.txt', ARTICLE, 'text/plain');
  const run = await startIngest(h.client, h.config, { bucket: h.bucket, key: 'traced/model.txt', etag });
  await h.client.workflow.getHandle(run.workflowId).result();
  const span = await waitFor(() => spans.find((s) => s.name === 'RunActivity:describeWindow'), {
    timeoutMs: 30_000,
    description: 'the span of the model call',
    failIf: exitedUnexpectedly(worker, 'the worker'),
  });
  const attributes = Object.fromEntries((span.attributes ?? []).map((a) => [a.key, a.value.stringValue ?? a.value.intValue ?? a.value.doubleValue ?? a.value.boolValue]));
  const [call] = model.calls;
  // The test server counts a token per 4 characters of the messages.
  const usage = { prompt: Math.ceil(((call!.messages ?? []).reduce((n, m) => n + m.content.length, 0)) / 4) };
  expect(attributes).toMatchObject({
    'gen_ai.system': 'openai',
    'gen_ai.operation.name': 'chat',
    'gen_ai.request.model': 'test-model',
    'gen_ai.usage.input_tokens': usage.prompt,
    'harvester.ai.call_kind': 'document',
  });
  expect(Number(attributes['gen_ai.usage.output_tokens'])).toBeGreaterThan(0);
  expect(attributes['harvester.ai.cost_usd']).toBeGreaterThan(0);
  expect(await stopEntry(worker), worker.output()).toBe(0);
}, 120_000);
