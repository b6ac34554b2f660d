/**
 * src/activities: every piece of I/O the workflows do (S3 transfers, extraction, the AI provider,
 * Postgres writes, connector sources), as activity factories over narrow ports; run by the worker
 * process. This module is their composition root: the real adapters wired to the factories.
 */
import type pg from 'pg';
import { createAiProvider, createDocumentModel } from '../ai/index.js';
import type { Config } from '../config.js';
import { PgAssetRepository } from '../db/assets.js';
import { extractFile } from '../extract/index.js';
import { createS3Client, S3Storage } from '../storage/s3.js';
import { PgMappingRepository } from '../db/mappings.js';
import { PgObjectifyLoads } from '../db/objectify-loads.js';
import { PgConnectorRepository } from '../db/connectors.js';
import { parseAllowedHosts } from '../connectors/safe-fetch.js';
import { aiCallObserver } from './ai-telemetry.js';
import { createAnalysisActivities, planModelAnalysis } from './analysis.js';
import { createConnectorActivities } from './connectors.js';
import { createIngestActivities } from './ingest.js';
import { createObjectifyActivities } from './objectify.js';

export interface ActivityResources {
  config: Config;
  pool: pg.Pool;
  scratchDir: string;
  /** Object storage; defaults to S3 as configured (tests pass a wrapped one to slow a transfer). */
  storage?: S3Storage;
}

/** A source that sends nothing for this long is down; the sync's retries take over. */
export const CONNECTOR_FETCH_TIMEOUT_MS = 60_000;

/** Well above any pause of a healthy S3 transfer, well below the download's 2-hour limit. */
export const DOWNLOAD_STALL_MS = 60_000;

/** Every activity the worker registers, wired to real adapters. */
export function createActivities({ config, pool, scratchDir, storage }: ActivityResources) {
  const s3 = storage ?? new S3Storage(createS3Client(config));
  const analysis = {
    storage: s3,
    model: createDocumentModel(config),
    workBucket: config.WORK_BUCKET,
    contextTokens: config.AI_CONTEXT_TOKENS,
    maxOutputTokens: config.AI_MAX_OUTPUT_TOKENS,
    parallelCalls: config.AI_PARALLEL_CALLS,
    maxTokensPerRun: config.AI_MAX_TOKENS_PER_RUN,
    aiTaskQueue: config.TEMPORAL_AI_TASK_QUEUE,
    observe: aiCallObserver(),
  };
  return {
    ...createConnectorActivities({
      connectors: new PgConnectorRepository(pool),
      storage: s3,
      workBucket: config.WORK_BUCKET,
      allowedHosts: parseAllowedHosts(config.CONNECTOR_ALLOWED_HOSTS),
      maxBytes: config.CONNECTOR_MAX_BYTES,
      timeoutMs: CONNECTOR_FETCH_TIMEOUT_MS,
    }),
    ...createObjectifyActivities({ storage: s3, loads: new PgObjectifyLoads(pool), mappings: new PgMappingRepository(pool) }),
    ...createAnalysisActivities(analysis),
    ...createIngestActivities({
      storage: s3,
      assets: new PgAssetRepository(pool),
      ai: createAiProvider(),
      extract: extractFile,
      workBucket: config.WORK_BUCKET,
      scratchDir,
      maxObjectBytes: config.INGEST_MAX_BYTES,
      stallMs: DOWNLOAD_STALL_MS,
      planAnalysis: (text, workPrefix, signal) => planModelAnalysis(analysis, text, workPrefix, signal),
    }),
  };
}
