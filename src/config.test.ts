import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, redactConfig } from './config.js';

describe('loadConfig', () => {
  it('has local defaults for every setting', () => {
    const config = loadConfig({ env: {}, envFile: false });
    expect(config).toMatchObject({
      PORT: 8080,
      TEMPORAL_ADDRESS: '127.0.0.1:7233',
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: 'harvester',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/harvester',
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      S3_REGION: 'us-east-1',
      S3_ACCESS_KEY_ID: 'minioadmin',
      S3_SECRET_ACCESS_KEY: 'minioadmin',
      INGEST_BUCKET: 'uploads',
      WEBHOOK_TOKEN: 'dev-webhook-token',
      API_KEY: 'dev-api-key',
    });
  });

  it('coerces numbers and booleans from strings', () => {
    const config = loadConfig({ env: { PORT: '9999', TEMPORAL_TLS: 'true', S3_FORCE_PATH_STYLE: 'false' }, envFile: false });
    expect(config.PORT).toBe(9999);
    expect(config.TEMPORAL_TLS).toBe(true);
    expect(config.S3_FORCE_PATH_STYLE).toBe(false);
  });

  it('reports every invalid field by name', () => {
    let error: unknown;
    try {
      loadConfig({ env: { PORT: 'eighty', TEMPORAL_UI_URL: 'not a url', DATABASE_SCHEMA: 'Robert"); DROP' }, envFile: false });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issues = (error as ConfigError).issues.join('\n');
    expect(issues).toMatch(/^PORT: /m);
    expect(issues).toMatch(/^TEMPORAL_UI_URL: /m);
    expect(issues).toMatch(/^DATABASE_SCHEMA: /m);
  });

  it('reads a .env file, and the environment wins over it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'harvester-config-'));
    const file = join(dir, '.env');
    writeFileSync(file, 'PORT=7000\nINGEST_BUCKET=from-file\n# a comment\n');
    const config = loadConfig({ env: { INGEST_BUCKET: 'from-env', API_KEY: '' }, envFile: file });
    expect(config.PORT).toBe(7000);
    expect(config.INGEST_BUCKET).toBe('from-env');
    // An empty variable counts as unset.
    expect(config.API_KEY).toBe('dev-api-key');
  });

  it('waits 60 s for each dependency at start-up unless told otherwise; 0 tries once', () => {
    expect(loadConfig({ env: {}, envFile: false }).STARTUP_TIMEOUT_SECONDS).toBe(60);
    expect(loadConfig({ env: { STARTUP_TIMEOUT_SECONDS: '0' }, envFile: false }).STARTUP_TIMEOUT_SECONDS).toBe(0);
    expect(() => loadConfig({ env: { STARTUP_TIMEOUT_SECONDS: '-1' }, envFile: false })).toThrow(/STARTUP_TIMEOUT_SECONDS: /);
  });

  it('masks secrets for logging', () => {
    const config = loadConfig({
      env: { API_KEY: 'super-secret-key', DATABASE_URL: 'postgres://app:hunter22@db:5432/harvester' },
      envFile: false,
    });
    const shown = JSON.stringify(redactConfig(config));
    expect(shown).not.toContain('super-secret-key');
    expect(shown).not.toContain('hunter22');
    expect(redactConfig(config).S3_SECRET_ACCESS_KEY).toBe('***');
    expect(redactConfig(config).S3_ACCESS_KEY_ID).toBe('minioadmin');
  });
});

describe('loadConfig in production', () => {
  /** Secrets of its own for every variable that has a dev default. */
  const OWN = {
    WEBHOOK_TOKEN: 'own-webhook-token-1f2e',
    API_KEY: 'own-api-key-3c4d',
    EVENTS_SECRET: 'whsec_b3duLWV2ZW50cy1zZWNyZXQtNWE2Yg==',
    S3_SECRET_ACCESS_KEY: 'own-s3-secret-7e8f',
  };
  const DEV_EVENTS_SECRET = 'whsec_ZGV2LWV2ZW50cy1zZWNyZXQtY2hhbmdlLW1l';

  function issuesOf(env: Record<string, string>): string[] {
    try {
      loadConfig({ env, envFile: false });
    } catch (err) {
      if (err instanceof ConfigError) return err.issues;
      throw err;
    }
    return [];
  }

  it('refuses every dev default secret that applies, naming each variable', () => {
    for (const flag of [{ NODE_ENV: 'production' }, { HARVESTER_ENV: 'production' }] as Record<string, string>[]) {
      const issues = issuesOf(flag);
      expect(issues.map((issue) => issue.split(':')[0]).sort()).toEqual(['API_KEY', 'EVENTS_SECRET', 'S3_SECRET_ACCESS_KEY', 'WEBHOOK_TOKEN']);
      const setting = Object.entries(flag).map(([key, value]) => `${key}=${value}`)[0]!;
      for (const issue of issues) expect(issue).toContain(setting);
    }
  });

  it('refuses a dev value set explicitly, also in a rotated EVENTS_SECRET list, without printing it', () => {
    const env = {
      NODE_ENV: 'production',
      ...OWN,
      API_KEY: 'dev-api-key',
      S3_SECRET_ACCESS_KEY: 'minioadmin',
      EVENTS_SECRET: `${OWN.EVENTS_SECRET} ${DEV_EVENTS_SECRET}`,
    };
    let error: unknown;
    try {
      loadConfig({ env, envFile: false });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { issues, message } = error as ConfigError;
    expect(issues.map((issue) => issue.split(':')[0]).sort()).toEqual(['API_KEY', 'EVENTS_SECRET', 'S3_SECRET_ACCESS_KEY']);
    for (const secret of ['dev-api-key', 'minioadmin', DEV_EVENTS_SECRET, ...Object.values(OWN)]) expect(message).not.toContain(secret);
  });

  it('reports the dev defaults together with the other invalid fields', () => {
    const issues = issuesOf({ HARVESTER_ENV: 'production', ...OWN, API_KEY: 'dev-api-key', PORT: 'eighty' });
    expect(issues.map((issue) => issue.split(':')[0]).sort()).toEqual(['API_KEY', 'PORT']);
  });

  it('accepts secrets of its own, and the dev S3 access key id with a secret of its own', () => {
    const config = loadConfig({ env: { NODE_ENV: 'production', ...OWN }, envFile: false });
    expect(config.API_KEY).toBe(OWN.API_KEY);
    expect(config.S3_ACCESS_KEY_ID).toBe('minioadmin');
  });

  it('keeps the dev defaults outside production, and HARVESTER_ENV=development overrides NODE_ENV', () => {
    for (const env of [{}, { NODE_ENV: 'development' }, { NODE_ENV: 'test' }, { NODE_ENV: 'production', HARVESTER_ENV: 'development' }]) {
      expect(loadConfig({ env, envFile: false }).API_KEY, JSON.stringify(env)).toBe('dev-api-key');
    }
    expect(issuesOf({ HARVESTER_ENV: 'staging' })).toEqual([expect.stringMatching(/^HARVESTER_ENV: /)]);
  });
});

describe('the AI settings', () => {
  const load = (env: Record<string, string>) => loadConfig({ env, envFile: false });
  const issues = (env: Record<string, string>): string[] => {
    try {
      load(env);
      return [];
    } catch (err) {
      return (err as ConfigError).issues;
    }
  };

  it('default to the local provider, with the documented limits', () => {
    expect(load({})).toMatchObject({
      AI_PROVIDER: 'local', AI_LABELS: [], AI_QUESTIONS: 0, AI_CONTEXT_TOKENS: 8192, AI_MAX_OUTPUT_TOKENS: 1024, AI_PARALLEL_CALLS: 4,
      AI_MAX_TOKENS_PER_RUN: 2_000_000, AI_PRICES: {}, TEMPORAL_AI_TASK_QUEUE: 'harvester-ai', AI_MAX_CONCURRENCY: 8,
    });
    expect(load({}).AI_MAX_CALLS_PER_SECOND).toBeUndefined();
  });

  it('read labels as a list and prices as JSON', () => {
    const config = load({ AI_LABELS: ' invoice, contract ,,invoice', AI_PRICES: '{"gpt-4o-mini": {"input": 0.15, "output": 0.6}, "emb": {"input": 0.02}}' });
    expect(config.AI_LABELS).toEqual(['invoice', 'contract']);
    expect(config.AI_PRICES).toEqual({ 'gpt-4o-mini': { input: 0.15, output: 0.6 }, emb: { input: 0.02, output: 0 } });
  });

  it('need an endpoint and a model for openai-compatible, prices that parse, and room for the text in the context', () => {
    expect(issues({ AI_PROVIDER: 'openai-compatible', AI_PRICES: '{oops', AI_CONTEXT_TOKENS: '4096', AI_MAX_OUTPUT_TOKENS: '3000' })).toEqual([
      expect.stringMatching(/^AI_PRICES: must be JSON/),
      'AI_BASE_URL: is required with AI_PROVIDER=openai-compatible',
      'AI_MODEL: is required with AI_PROVIDER=openai-compatible',
      expect.stringMatching(/^AI_MAX_OUTPUT_TOKENS: must be at most half of AI_CONTEXT_TOKENS/),
    ]);
    expect(issues({ AI_PRICES: '{"m": {"input": -1}}' })).toEqual([expect.stringMatching(/^AI_PRICES\.m\.input: /)]);
  });

  it('mask the API key', () => {
    const config = load({ AI_PROVIDER: 'openai-compatible', AI_BASE_URL: 'http://127.0.0.1:11434/v1', AI_MODEL: 'llama3.1', AI_API_KEY: 'sk-secret-value' });
    expect(JSON.stringify(redactConfig(config))).not.toContain('sk-secret-value');
  });

  it('.env.example loads as it is (its empty settings count as unset)', () => {
    expect(loadConfig({ env: {}, envFile: '.env.example' }).AI_PROVIDER).toBe('local');
  });
});
