/**
 * The types every part of the api shares: the Hono environment of its handlers and the
 * dependencies createApp() is built over (main.ts passes the real ones, tests their own).
 */
import type { Client } from '@temporalio/client';
import type { Config } from '../config.js';
import type { ConnectorService } from '../connectors/service.js';
import type { PgAssetReader } from '../db/asset-reader.js';
import type { DatasetView } from '../db/datasets.js';
import type { PgMappingRepository } from '../db/mappings.js';
import type { PgObjectReader } from '../db/objects.js';
import type { Logger } from '../logger.js';
import type { HeadReader } from '../pipelines/pin.js';
import type { RunWatchHub } from '../temporal/run-watch.js';
import type { ApiMetrics } from './metrics.js';
import type { AssetTexts } from './routes/assets.js';

export type AppEnv = { Variables: { requestId: string } };

/** Resolves when the dependency answers; rejects (or times out) when it does not. */
export type ReadinessCheck = (signal: AbortSignal) => Promise<unknown>;

export interface AppDependencies {
  config: Config;
  temporal: Client;
  /** What the api needs of object storage: resolving an object's current version. */
  storage: HeadReader;
  /** Mapping specs of the objectify pipeline. */
  mappings: Pick<PgMappingRepository, 'register' | 'get' | 'list'>;
  /** Published objects, and datasets with their loads: objectify's results. */
  objects: Pick<PgObjectReader, 'resolveVersion' | 'list' | 'get'>;
  datasets: { read(id: string, rejectLimit: number): Promise<DatasetView | undefined> };
  /** Ingested assets and their chunks: ingest's results. */
  assets: Pick<PgAssetReader, 'list' | 'get' | 'byObject' | 'chunks'>;
  /** The assets' extracted texts in the work bucket. */
  assetTexts: AssetTexts;
  /** Connectors and their Temporal Schedules. */
  connectors: Pick<ConnectorService, 'create' | 'list' | 'get' | 'update' | 'delete' | 'sync' | 'pause' | 'resume'>;
  readiness: Record<string, ReadinessCheck>;
  log: Logger;
  /**
   * The shared run watchers behind the stream endpoint (one per workflow id, a cap on open streams).
   * main.ts closes it on SIGTERM so open streams end; created by createApp when absent.
   */
  runWatch?: RunWatchHub;
  /** Prometheus metrics served on GET /metrics; created by createApp when absent. */
  metrics?: ApiMetrics;
}
