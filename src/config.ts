/**
 * src/*.ts: the process-wide basics every process shares: this config schema, logging
 * (logger.ts), tracing (telemetry.ts) and the start-up waits (startup.ts). They import no folder
 * of src/, so every folder may import them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { z } from 'zod';

/**
 * The one place that reads the environment. Both processes (api and worker) and the dev-stack
 * scripts parse it once at start-up and pass the typed result down.
 */

const port = z.coerce.number().int().min(0).max(65_535);
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])
  .transform((v) => ['true', '1', 'yes', 'on'].includes(v));
const byteSize = z.coerce.number().int().positive();

/** The dev defaults: public, so a production process refuses them (see devDefaultIssues). */
const DEV_WEBHOOK_TOKEN = 'dev-webhook-token';
const DEV_API_KEY = 'dev-api-key';
const DEV_EVENTS_SECRET = 'whsec_ZGV2LWV2ZW50cy1zZWNyZXQtY2hhbmdlLW1l';
/** MinIO's well-known root user and password. */
const DEV_S3_CREDENTIAL = 'minioadmin';

export const configSchema = z.object({
  /**
   * `production` refuses the dev default secrets. Unset: NODE_ENV decides (the container image
   * sets NODE_ENV=production); `development` lets a production image run with them on a laptop.
   */
  HARVESTER_ENV: z.enum(['development', 'production']).optional(),
  /** Read only for HARVESTER_ENV's fallback. */
  NODE_ENV: z.string().optional(),
  PORT: port.default(8080),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * How long a process waits for each of Temporal, Postgres and S3 at start-up, retrying with a
   * backoff (1 s doubling to 5 s), before it exits with code 1; 0 tries once.
   */
  STARTUP_TIMEOUT_SECONDS: z.coerce.number().int().min(0).max(3600).default(60),

  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('harvester'),
  /** Base URL of the Temporal Web UI, used to build links to runs. */
  TEMPORAL_UI_URL: z.url().default('http://127.0.0.1:8233'),
  /** Temporal Cloud / secured clusters: API key sent as a bearer token; implies TLS. */
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS: bool.default(false),
  /**
   * Mutual TLS (a self-hosted cluster that checks client certificates): PEM files of the client
   * certificate and its key; both or neither. Any TEMPORAL_TLS_* path implies TLS.
   */
  TEMPORAL_TLS_CLIENT_CERT_PATH: z.string().min(1).optional(),
  TEMPORAL_TLS_CLIENT_KEY_PATH: z.string().min(1).optional(),
  /** PEM file of the CA that signed the server's certificate, when it is not a public one. */
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: z.string().min(1).optional(),
  /** The name to expect in the server's certificate, when it differs from TEMPORAL_ADDRESS's host. */
  TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),

  DATABASE_URL: z.string().min(1).default('postgres://postgres@127.0.0.1:5432/harvester'),
  /** Postgres schema holding Harvester's tables (tests use one schema per test file). */
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'lowercase letters, digits and _ only')
    .default('public'),

  S3_ENDPOINT: z.url().optional().default('http://127.0.0.1:9000'),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_ACCESS_KEY_ID: z.string().min(1).default(DEV_S3_CREDENTIAL),
  S3_SECRET_ACCESS_KEY: z.string().min(1).default(DEV_S3_CREDENTIAL),
  /** MinIO and most S3-compatible stores need path-style addressing. */
  S3_FORCE_PATH_STYLE: bool.default(true),
  INGEST_BUCKET: z.string().min(3).default('uploads'),
  /** Bucket for intermediate products (extracted text, chunks) passed between activities by key. */
  WORK_BUCKET: z.string().min(3).default('harvester-work'),
  /** Objects larger than this fail ingest with a non-retryable error instead of filling a disk. */
  INGEST_MAX_BYTES: byteSize.default(512 * 1024 * 1024),

  WEBHOOK_TOKEN: z.string().min(8).default(DEV_WEBHOOK_TOKEN),
  API_KEY: z.string().min(8).default(DEV_API_KEY),
  /**
   * Standard Webhooks secret(s) for POST /api/v1/events: `whsec_<base64>`; several, separated by
   * spaces, while a secret is being rotated (a signature from any of them is accepted).
   */
  EVENTS_SECRET: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/=]{16,}( +whsec_[A-Za-z0-9+/=]{16,})*$/, 'one or more space-separated whsec_<base64> secrets')
    .default(DEV_EVENTS_SECRET),

  /**
   * `local` (default): offline heuristics. `openai-compatible`: the official openai client against
   * AI_BASE_URL (OpenAI, Gemini's compatible endpoint, Ollama, vLLM, LocalAI).
   */
  AI_PROVIDER: z.enum(['local', 'openai-compatible']).default('local'),
  /** The endpoint's OpenAI-compatible base URL (https://api.openai.com/v1, http://127.0.0.1:11434/v1). Operator config, trusted: not through the connectors' SSRF guard. */
  AI_BASE_URL: z.url().optional(),
  /** Sent as a bearer token; local servers (Ollama, vLLM) accept any value. */
  AI_API_KEY: z.string().min(1).optional(),
  /** The chat model, as the endpoint names it (gpt-4o-mini, gemini-2.5-flash, llama3.1:8b…). */
  AI_MODEL: z.string().min(1).optional(),
  /** With it, every chunk gets an embedding from this model. */
  AI_EMBEDDING_MODEL: z.string().min(1).optional(),
  /** Comma-separated labels the model classifies each document into (none: no classification). */
  AI_LABELS: z
    .string()
    .default('')
    .transform((v) => [...new Set(v.split(',').map((l) => l.trim()).filter((l) => l !== ''))])
    .pipe(z.array(z.string().max(100)).max(100)),
  /** How many study questions (with answers) to write per document; 0 (default) writes none. */
  AI_QUESTIONS: z.coerce.number().int().min(0).max(20).default(0),
  /** The model's context window in tokens: texts longer than fits are map-reduced in windows. */
  AI_CONTEXT_TOKENS: z.coerce.number().int().min(2048).max(10_000_000).default(8192),
  /** The longest answer a call may produce (sent as max_tokens; reserved out of the context). */
  AI_MAX_OUTPUT_TOKENS: z.coerce.number().int().min(256).max(100_000).default(1024),
  /** How many window calls of one run are in flight at once. */
  AI_PARALLEL_CALLS: z.coerce.number().int().min(1).max(64).default(4),
  /** One model call that takes longer is abandoned and retried. */
  AI_REQUEST_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(3600).default(300),
  /** A run whose model calls would use more tokens than this fails with BudgetExceeded. */
  AI_MAX_TOKENS_PER_RUN: z.coerce.number().int().min(1).default(2_000_000),
  /**
   * Prices in USD per million tokens, as JSON: {"gpt-4o-mini": {"input": 0.15, "output": 0.6}}.
   * A model not listed has its tokens counted and its cost reported as null.
   */
  AI_PRICES: z
    .string()
    .default('{}')
    .transform((v, ctx) => {
      try {
        return JSON.parse(v) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be JSON: {"<model>": {"input": <usd per 1M tokens>, "output": <usd per 1M tokens>}}' });
        return z.NEVER;
      }
    })
    .pipe(z.record(z.string().min(1), z.strictObject({ input: z.number().min(0), output: z.number().min(0).default(0) }))),
  /** Task queue of the model calls: its limits below hold across every worker polling it. */
  TEMPORAL_AI_TASK_QUEUE: z.string().min(1).default('harvester-ai'),
  /** Worker: model calls this process runs at once. */
  AI_MAX_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(8),
  /** Model calls per second across all workers of TEMPORAL_AI_TASK_QUEUE (the server enforces it); unset: no limit. */
  AI_MAX_CALLS_PER_SECOND: z.coerce.number().positive().optional(),

  /** Worker: where downloads wait to be extracted, one folder per run; default <tmp>/harvester-scratch. */
  SCRATCH_DIR: z.string().min(1).optional(),
  /**
   * Worker: on SIGTERM, how long running activities may go on before they are cancelled and handed
   * back to the server. Keep it below the orchestrator's kill deadline (Kubernetes: 30 s by default).
   */
  WORKER_SHUTDOWN_GRACE_SECONDS: z.coerce.number().int().min(0).max(3600).default(25),
  /**
   * Worker: host:port where the Temporal SDK runtime serves Prometheus metrics on /metrics
   * (task slots, poll and schedule-to-start latencies, activity and workflow outcomes). Unset: off.
   */
  WORKER_METRICS_ADDRESS: z
    .string()
    .regex(/^[^\s:]+:\d{1,5}$/, 'host:port, e.g. 0.0.0.0:9464')
    .optional(),
  /**
   * Worker: the workflow bundle built ahead by `npm run build:workflows` (the container image
   * sets it). Unset: the worker bundles the workflow sources when it starts (development).
   */
  WORKFLOW_BUNDLE_PATH: z.string().min(1).optional(),

  /**
   * Connectors may fetch only public addresses; these comma-separated host or host:port entries
   * may also resolve to loopback, private or link-local ones (an intranet source, tests).
   */
  CONNECTOR_ALLOWED_HOSTS: z.string().default(''),
  /** An http-csv source larger than this fails its sync (the file is held in memory while it is hashed). */
  CONNECTOR_MAX_BYTES: byteSize.default(64 * 1024 * 1024),

  /** Local stack only: where the dev servers keep their data. */
  HARVESTER_DATA_DIR: z.string().min(1).default('.harvester'),
  /** Local stack only: where the Go-built temporal and minio binaries are cached between runs. */
  HARVESTER_BIN_DIR: z.string().min(1).default(join(homedir(), '.cache', 'harvester', 'bin')),
}).superRefine(
  (config, ctx) => {
    for (const issue of devDefaultIssues(config)) ctx.addIssue({ code: 'custom', ...issue });
    if (config.AI_PROVIDER === 'openai-compatible') {
      for (const key of ['AI_BASE_URL', 'AI_MODEL'] as const) {
        if (config[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'is required with AI_PROVIDER=openai-compatible' });
      }
    }
    if (config.AI_MAX_OUTPUT_TOKENS * 2 > config.AI_CONTEXT_TOKENS) {
      ctx.addIssue({ code: 'custom', path: ['AI_MAX_OUTPUT_TOKENS'], message: `must be at most half of AI_CONTEXT_TOKENS (${config.AI_CONTEXT_TOKENS}), so each window has room for its text` });
    }
  },
  // Also when another field is invalid, so that one run reports every problem.
  { when: () => true },
);

export type Config = Readonly<z.infer<typeof configSchema>>;

const SECRET_KEYS = new Set<keyof Config>([
  'S3_SECRET_ACCESS_KEY',
  'WEBHOOK_TOKEN',
  'API_KEY',
  'EVENTS_SECRET',
  'TEMPORAL_API_KEY',
  'AI_API_KEY',
]);

type EnvSettings = Partial<Record<'HARVESTER_ENV' | 'NODE_ENV', string>>;

/** Which setting makes this a production process ("HARVESTER_ENV=production"), if any. */
function productionSetting(config: EnvSettings): string | undefined {
  if (config.HARVESTER_ENV !== undefined) return config.HARVESTER_ENV === 'production' ? 'HARVESTER_ENV=production' : undefined;
  return config.NODE_ENV === 'production' ? 'NODE_ENV=production' : undefined;
}

/**
 * In production, the dev defaults are refused, whether a default applies or the variable is set
 * to it: they are in this repository for anyone to read. The issues name the variable, never its
 * value. S3_ACCESS_KEY_ID is not checked: it is not a secret (the start-up line logs it), and
 * MinIO's root user may keep the name minioadmin with a password of its own; the dev pair
 * minioadmin/minioadmin is refused through its secret half.
 */
function devDefaultIssues(config: EnvSettings & Record<string, unknown>): { path: string[]; message: string }[] {
  const production = productionSetting(config);
  if (!production) return [];
  const refused = `is the development default, which ${production} refuses; set a secret of your own`;
  const issues: { path: string[]; message: string }[] = [];
  for (const [key, devValue] of [
    ['WEBHOOK_TOKEN', DEV_WEBHOOK_TOKEN],
    ['API_KEY', DEV_API_KEY],
    ['S3_SECRET_ACCESS_KEY', DEV_S3_CREDENTIAL],
  ] as const) {
    if (config[key] === devValue) issues.push({ path: [key], message: refused });
  }
  const events = config.EVENTS_SECRET;
  if (typeof events === 'string' && events.split(/ +/).includes(DEV_EVENTS_SECRET)) {
    issues.push({ path: ['EVENTS_SECRET'], message: `is or includes the development default, which ${production} refuses; remove it from the list` });
  }
  return issues;
}

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  /** Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** A dotenv file read before the environment; variables already set win. Defaults to ./.env. */
  envFile?: string | false;
}

export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const envFile = options.envFile === undefined ? resolve('.env') : options.envFile;
  const fromFile = envFile && existsSync(envFile) ? parseDotenv(readFileSync(envFile)) : {};
  const merged: Record<string, string | undefined> = {};
  for (const [key, value] of [...Object.entries(fromFile), ...Object.entries(env)]) {
    // An empty variable means "not set", as in most twelve-factor tooling (`KEY=` in .env too).
    if (value !== undefined && value !== '') merged[key] = value;
  }
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`),
    );
  }
  return Object.freeze(parsed.data);
}

/** The config with secrets masked, for start-up logs. */
export function redactConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    out[key] = SECRET_KEYS.has(key as keyof Config) && value !== undefined ? '***' : value;
  }
  out.DATABASE_URL = redactUrlPassword(config.DATABASE_URL);
  return out;
}

/** The URL with its password as ***, for logs and messages (DATABASE_URL). */
export function redactUrlPassword(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '***';
  }
}
