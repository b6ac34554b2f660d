import { parseArgs } from 'node:util';
import { runScript, scriptLog } from '../scripts/lib/cli.js';
import { createDocumentModel } from '../src/ai/index.js';
import { windowBudgetChars } from '../src/ai/windows.js';
import { loadConfig, type Config } from '../src/config.js';
import { createPool } from '../src/db/pool.js';
import { createS3Client } from '../src/storage/s3.js';
import { startOpenAiServer } from '../test/support/openai-server.js';
import {
  clientBaseline,
  modelBaseline,
  type PhaseFigures,
  type PipelineFigures,
  proseDocuments,
  requestBodies,
  runPipeline,
  windowCalls,
} from './lib/ai-run.js';
import { benchmarkMain, type Cleanups } from './lib/cleanups.js';
import { startBenchWorker } from './lib/objectify-run.js';
import { fmtInt, fmtSeconds, machineLine, ratioLine, type PhaseResult } from './lib/report.js';
import { startStack } from './lib/stack.js';

// `npm run bench:ai [-- --latency-ms N --runs N --windows N --concurrency N]`: model calls made by
// ingest runs through Temporal, beside the same calls made directly (the provider code the
// activity calls, and the bare openai client), against a fake OpenAI server with a fixed latency
// in this process, on servers this script starts and stops (see README, "Benchmarks").

const log = scriptLog('bench');
/** A small context, so that short documents already take several windows. */
const CONTEXT_TOKENS = 2048;
const OUTPUT_TOKENS = 256;

interface Options {
  latencyMs: number;
  runs: number;
  windows: number;
  concurrency: number;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      'latency-ms': { type: 'string', default: '200' },
      runs: { type: 'string', default: '20' },
      windows: { type: 'string', default: '4' },
      concurrency: { type: 'string', default: '8' },
    },
    strict: true,
  });
  const integer = (name: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const n = Number(text.replace(/_/g, ''));
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}, not "${text}"`);
    return n;
  };
  return {
    latencyMs: integer('latency-ms', values['latency-ms'], 0, 60_000),
    runs: integer('runs', values.runs, 1, 10_000),
    windows: integer('windows', values.windows, 1, 1_000),
    // AI_PARALLEL_CALLS allows at most 64.
    concurrency: integer('concurrency', values.concurrency, 1, 64),
  };
}

/**
 * The stack's config with a model on the fake server, parsed by the one schema: AI_MAX_CONCURRENCY
 * slots in the worker, and as many window calls in flight per run, on an AI task queue of this run.
 */
function withModel(config: Config, baseURL: string, concurrency: number): Config {
  const ai = loadConfig({
    envFile: false,
    env: {
      AI_PROVIDER: 'openai-compatible',
      AI_BASE_URL: baseURL,
      AI_API_KEY: 'test-key',
      AI_MODEL: 'test-model',
      AI_CONTEXT_TOKENS: String(CONTEXT_TOKENS),
      AI_MAX_OUTPUT_TOKENS: String(OUTPUT_TOKENS),
      AI_PARALLEL_CALLS: String(concurrency),
      AI_MAX_CONCURRENCY: String(concurrency),
      TEMPORAL_AI_TASK_QUEUE: `${config.TEMPORAL_TASK_QUEUE}-ai`,
    },
  });
  return {
    ...config,
    AI_PROVIDER: ai.AI_PROVIDER,
    AI_BASE_URL: ai.AI_BASE_URL,
    AI_API_KEY: ai.AI_API_KEY,
    AI_MODEL: ai.AI_MODEL,
    AI_CONTEXT_TOKENS: ai.AI_CONTEXT_TOKENS,
    AI_MAX_OUTPUT_TOKENS: ai.AI_MAX_OUTPUT_TOKENS,
    AI_PARALLEL_CALLS: ai.AI_PARALLEL_CALLS,
    AI_MAX_CONCURRENCY: ai.AI_MAX_CONCURRENCY,
    TEMPORAL_AI_TASK_QUEUE: ai.TEMPORAL_AI_TASK_QUEUE,
  };
}

async function bench(options: Options, cleanups: Cleanups, signal: AbortSignal): Promise<void> {
  const { latencyMs, runs, windows, concurrency } = options;
  log(`machine: ${machineLine()}; ${fmtInt(runs)} documents of ${windows} windows, model latency ${latencyMs} ms, concurrency ${concurrency}`);
  const stack = await startStack(log, cleanups, signal);
  signal.throwIfAborted();
  const server = await startOpenAiServer({ latencyMs });
  cleanups.add('stop the fake OpenAI server', () => server.close());
  const config = withModel(stack.config, server.url, concurrency);
  const windowChars = windowBudgetChars(config.AI_CONTEXT_TOKENS, config.AI_MAX_OUTPUT_TOKENS);
  const documents = proseDocuments(runs, windows, windowChars);
  const calls = windowCalls(documents);
  log(`generated ${fmtInt(runs)} documents: ${fmtInt(calls.length)} windows of at most ${fmtInt(windowChars)} chars in all`);
  const model = createDocumentModel(config);
  if (!model) throw new Error('the benchmark config has no model');

  const pool = createPool(config, 10);
  cleanups.add('close the database pool', () => pool.end());
  const s3 = createS3Client(config);
  cleanups.add('close the S3 client', () => Promise.resolve(s3.destroy()));
  const worker = await startBenchWorker(config, pool, stack.dataDir, cleanups, log);
  signal.throwIfAborted();

  const ctx = { server, concurrency, log, signal };
  log(`phase 1/3: ${fmtInt(calls.length)} window calls with the DocumentModel, ${concurrency} at a time`);
  const direct = await modelBaseline(ctx, model, calls);
  const bodies = requestBodies(server.calls);
  log(`phase 2/3: the same ${fmtInt(bodies.length)} requests with the bare openai client, ${concurrency} at a time`);
  const bare = await clientBaseline(ctx, { baseURL: server.url, apiKey: config.AI_API_KEY ?? 'test-key' }, bodies);
  log(`phase 3/3: ${fmtInt(runs)} ingest runs started at once`);
  const pipeline = await runPipeline(ctx, { worker, config, s3 }, documents);
  const report: Report = { options, windowChars, windowCount: calls.length, direct, bare, pipeline };
  const problems = checkCalls(report);
  printReport(report, problems);
  if (problems.length > 0) throw new Error(`the phases did not make the calls they should have: ${problems.join('; ')}`);
}

interface Report {
  options: Options;
  windowChars: number;
  windowCount: number;
  direct: PhaseFigures;
  bare: PhaseFigures;
  pipeline: PipelineFigures;
}

function printReport(r: Report, problems: readonly string[]): void {
  const { latencyMs, runs, windows, concurrency } = r.options;
  const { direct, bare, pipeline } = r;
  const p = pipeline.server;
  const rows = [
    { phase: 'DocumentModel.describe', figures: direct, note: 'provider code of the activity, no Temporal' },
    { phase: 'bare openai client', figures: bare, note: 'same request bodies, answers not validated' },
    { phase: 'ingest pipeline', figures: pipeline, note: `${fmtInt(p.byKind.window)} window + ${fmtInt(p.byKind.combine)} combine calls in ${fmtInt(runs)} runs` },
  ];
  const asResult = (name: string, f: PhaseFigures): { name: string; result: PhaseResult } => ({ name, result: { phase: name, rows: f.server.answered, ms: f.ms } });
  const pipelineResult = asResult('the pipeline', pipeline);
  const modelResult = asResult('the DocumentModel baseline', direct);
  const ratio = p.answered / pipeline.ms / (direct.server.answered / direct.ms);
  const out = [
    '',
    `AI benchmark: ${fmtInt(runs)} documents × ${windows} windows (${fmtInt(r.windowCount)} windows of at most ${fmtInt(r.windowChars)} chars), fake model latency ${latencyMs} ms, concurrency ${concurrency}`,
    `machine: ${machineLine()}; AI_CONTEXT_TOKENS ${CONTEXT_TOKENS}, AI_MAX_OUTPUT_TOKENS ${OUTPUT_TOKENS}, AI_MAX_CONCURRENCY = AI_PARALLEL_CALLS = ${concurrency}`,
    '',
    callTable(rows),
    '',
    ratioLine(pipelineResult, modelResult),
    ratioLine(pipelineResult, asResult('the bare openai client', bare)),
    ratio < 1
      ? `the baseline wins: the same calls made directly finish ${(1 / ratio).toFixed(1)}× as many calls a second as through the pipeline`
      : 'the pipeline matched or beat the baseline: unexpected, so check the call counts above before trusting it',
    '',
    `per call, above the ${latencyMs} ms latency (seconds × ${concurrency} / calls − ${latencyMs} ms):`,
    ...overheadLines(rows, concurrency, latencyMs),
    '',
    ...wallTimeLines(pipeline, concurrency, latencyMs),
    '',
    ...stepLines(pipeline, latencyMs),
    '',
    `check: ${problems.length === 0 ? checkSummary(r) : `PROBLEMS: ${problems.join('; ')}`}`,
    '',
  ];
  process.stdout.write(out.join('\n'));
}

/** A plain-text table like report.ts's phaseTable, in calls and tokens. */
function callTable(rows: readonly { phase: string; figures: PhaseFigures; note: string }[]): string {
  const header = ['phase', 'calls', 'seconds', 'calls/s', 'tokens/s', 'server ms/call', ''];
  const cells = rows.map(({ phase, figures: f, note }) => [
    phase,
    fmtInt(f.server.answered),
    fmtSeconds(f.ms),
    (f.server.answered / (f.ms / 1000)).toFixed(1),
    fmtInt(f.tokens / (f.ms / 1000)),
    f.server.meanMs.toFixed(1),
    note,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]!.length)));
  const line = (row: string[]): string =>
    row.map((c, i) => (i === 0 || i === row.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

function overheadLines(rows: readonly { phase: string; figures: PhaseFigures }[], concurrency: number, latencyMs: number): string[] {
  const perCall = (f: PhaseFigures): number => (f.ms * concurrency) / f.server.answered - latencyMs;
  const width = Math.max(...rows.map((r) => r.phase.length));
  const lines = rows.map((r) => `  ${r.phase.padEnd(width)}  ${perCall(r.figures).toFixed(1).padStart(7)} ms`);
  const [direct, , pipeline] = rows;
  const orchestration = perCall(pipeline!.figures) - perCall(direct!.figures);
  return [
    ...lines,
    `  orchestration overhead: about ${orchestration.toFixed(0)} ms per call over the DocumentModel baseline. It is the whole`,
    '  pipeline spread over its model calls: each run\'s start, download, extract (which plans the windows), analyse,',
    '  persist and cleanup; the S3 reads and writes around every call in describeWindow/combineWindows; the combine',
    '  calls, which wait for all of a run\'s windows, so slots idle while runs finish; and Temporal\'s dispatch of every',
    '  workflow and activity task. The fake server, Temporal\'s client, the worker and the baselines share this machine,',
    `  and a last round of fewer than ${concurrency} calls, which leaves slots idle, counts as overhead in every row.`,
  ];
}

/** The pipeline phase cut where the server saw its first call and answered its last. */
function wallTimeLines(pipeline: PipelineFigures, concurrency: number, latencyMs: number): string[] {
  const s = pipeline.server;
  const ideal = (s.answered * latencyMs) / concurrency;
  const rows: [string, number, string][] = [
    ['start → first model call', s.firstAt - pipeline.startedAt, `start ${fmtInt(pipeline.results.length)} runs; download, extract, plan the windows`],
    ['first call → last answer', s.lastAt - s.firstAt, `the calls; ${fmtInt(s.answered)} × ${latencyMs} ms / ${concurrency} slots take at least ${fmtSeconds(ideal)} s`],
    ['last answer → last result', pipeline.endedAt - s.lastAt, 'analyse, persist and cleanup of the last runs'],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return ['the pipeline\'s wall time:', ...rows.map(([label, ms, what]) => `  ${label.padEnd(width)}  ${fmtSeconds(ms).padStart(6)} s  ${what}`)];
}

function stepLines(pipeline: PipelineFigures, latencyMs: number): string[] {
  const width = Math.max(4, ...pipeline.steps.map((s) => s.name.length));
  const model = new Set(['describeWindow', 'combineWindows', 'embedChunks']);
  return [
    'the runs\' steps, from Temporal\'s event times (mean per step):',
    `  ${'step'.padEnd(width)}  count  waiting ms  running ms`,
    ...pipeline.steps.map((s) => {
      const extra = model.has(s.name) ? `  ${(s.runningMs - latencyMs).toFixed(0)} ms beyond the model's latency` : '';
      return `  ${s.name.padEnd(width)}  ${fmtInt(s.count).padStart(5)}  ${s.waitingMs.toFixed(0).padStart(10)}  ${s.runningMs.toFixed(0).padStart(10)}${extra}`;
    }),
    '  waiting: scheduled → started, Temporal\'s dispatch and, for model calls, mostly the wait for one of the',
    '  worker\'s AI_MAX_CONCURRENCY slots; running: started → completed, for model calls the S3 reads, the call',
    '  and storing its answer.',
  ];
}

/** The figures mean something only if every phase made the calls it should have. */
function checkCalls(r: Report): string[] {
  const { direct, bare, pipeline } = r;
  const problems: string[] = [];
  for (const [name, f] of [['DocumentModel', direct], ['bare client', bare], ['pipeline', pipeline]] as const) {
    if (f.server.failed > 0) problems.push(`${name}: ${fmtInt(f.server.failed)} calls failed or were left`);
    if (f.server.byKind.other > 0) problems.push(`${name}: ${fmtInt(f.server.byKind.other)} calls were repairs or whole documents`);
  }
  for (const [name, f] of [['DocumentModel', direct], ['bare client', bare]] as const) {
    if (f.server.answered !== r.windowCount) problems.push(`${name}: the server answered ${fmtInt(f.server.answered)} calls, not ${fmtInt(r.windowCount)}`);
  }
  const windowsRun = pipeline.results.reduce((n, res) => n + (res.windows ?? 0), 0);
  if (windowsRun !== r.windowCount) problems.push(`the runs planned ${fmtInt(windowsRun)} windows, the baseline ${fmtInt(r.windowCount)}`);
  if (pipeline.server.byKind.window !== r.windowCount) problems.push(`the server saw ${fmtInt(pipeline.server.byKind.window)} window calls from the pipeline`);
  const usageCalls = pipeline.results.reduce((n, res) => n + (res.usage?.calls ?? 0), 0);
  if (usageCalls !== pipeline.server.answered) problems.push(`the runs' usage counts ${fmtInt(usageCalls)} calls, the server answered ${fmtInt(pipeline.server.answered)}`);
  const incomplete = pipeline.results.filter((res) => res.stage !== 'completed').length;
  if (incomplete > 0) problems.push(`${fmtInt(incomplete)} runs ended without completing`);
  return problems;
}

function checkSummary(r: Report): string {
  const { results, server } = r.pipeline;
  return `${fmtInt(results.length)} runs completed with ${fmtInt(r.windowCount)} windows, as the baselines; the runs' usage counts the ${fmtInt(server.answered)} calls the server answered; no failed calls, no repairs`;
}

const USAGE = 'usage: npm run bench:ai [-- --latency-ms N (default 200) --runs N (default 20) --windows N (default 4) --concurrency N (default 8, at most 64)]';

runScript('bench', benchmarkMain(log, USAGE, parseOptions, bench));
