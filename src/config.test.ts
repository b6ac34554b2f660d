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
