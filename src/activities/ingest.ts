import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Insights } from '../ai/insights.js';
import type { AiProvider } from '../ai/provider.js';
import type { AnalysisPlan, ModelCall } from '../contracts/ai.js';
import { usageOf } from '../contracts/ai.js';
import type { AssetLineage, AssetRecord, ChunkRecord } from '../db/assets.js';
import type { ContentFormat } from '../extract/types.js';
import { extractorVersion } from '../extract/versions.js';
import { HARVESTER_VERSION } from '../support/package-folder.js';
import type { ExtractedContent, ExtractHints } from '../extract/index.js';
import { CorruptContentError, UnsupportedContentError } from '../extract/index.js';
import type { ObjectHead, ObjectLocator, ObjectStream } from '../storage/s3.js';
import { objectVersion } from '../contracts/common.js';
import { failure } from '../contracts/failures.js';
import type { IngestInput } from '../contracts/ingest.js';
import { asStorageFailure, currentRun, keepHeartbeating, rethrowIfCancelled, runScratchDir } from './support.js';

/** What the ingest activities need from object storage. */
export interface IngestStorage {
  read(object: ObjectLocator, signal?: AbortSignal): Promise<ObjectStream>;
  readText(bucket: string, key: string, signal?: AbortSignal): Promise<string>;
  writeText(bucket: string, key: string, text: string, contentType: string, signal?: AbortSignal): Promise<void>;
  copy(bucket: string, fromKey: string, toKey: string, signal?: AbortSignal): Promise<void>;
  deletePrefix(bucket: string, prefix: string, signal?: AbortSignal): Promise<number>;
}

/** Where analysed assets are written. */
export interface AssetWriter {
  upsert(asset: AssetRecord, chunks: ChunkRecord[]): Promise<{ id: string; created: boolean }>;
}

export interface IngestDependencies {
  storage: IngestStorage;
  assets: AssetWriter;
  ai: AiProvider;
  extract(path: string, hints: ExtractHints, options: { signal: AbortSignal }): Promise<ExtractedContent>;
  /** Bucket for intermediate products passed between steps by key. */
  workBucket: string;
  /** Local folder for downloaded files; one sub-folder per workflow run. */
  scratchDir: string;
  maxObjectBytes: number;
  /** A download that receives no bytes for this long is abandoned (and retried by Temporal). */
  stallMs: number;
  /** With a model configured: how the extracted text will be analysed (src/activities/analysis.ts). */
  planAnalysis?: ((text: string, workPrefix: string, signal: AbortSignal) => Promise<AnalysisPlan | undefined>) | undefined;
}

export interface DownloadedFile {
  /** versionId if the bucket is versioned, else the ETag: the asset's identity. */
  version: string;
  etag: string;
  sha256: string;
  sizeBytes: number;
  contentType: string | undefined;
}

export interface ExtractedText {
  format: string;
  textChars: number;
  metadata: Record<string, string | number | boolean>;
  textKey: string;
  /** With a model: its calls for this text (absent: analysed locally). */
  plan?: AnalysisPlan | undefined;
}

export interface AnalysedText {
  language: string;
  summary: string;
  keywords: string[];
  /** What a model wrote; absent when analysed locally. */
  title?: string | undefined;
  labels?: string[] | undefined;
  chunkCount: number;
  chunksKey: string;
}

/** A stage of the run and when it began (workflow time). */
export interface RunStep {
  stage: string;
  startedAt: string;
}

/** The model's part of a run, for persist: what it wrote (by key) and every call it made. */
export interface ModelAnalysis {
  plan: Pick<AnalysisPlan, 'provider' | 'model' | 'embeddingModel' | 'promptVersion'>;
  insightsKey: string;
  embeddingKeys: string[];
  calls: ModelCall[];
}

const SOURCE_FILE = 'source';

export function createIngestActivities(deps: IngestDependencies) {
  /** Streams the object to `<scratch>/source`; hashes it on the way; heartbeats the byte offset. */
  async function fetchToScratch(object: IngestInput): Promise<DownloadedFile & { path: string }> {
    const ctx = Context.current();
    const signal = ctx.cancellationSignal;
    if (object.size !== undefined && object.size > deps.maxObjectBytes) throw tooLarge(object, object.size);

    const dir = runScratchDir(deps.scratchDir, currentRun());
    await mkdir(dir, { recursive: true });
    const path = join(dir, SOURCE_FILE);
    const partial = `${path}.${ctx.info.attempt}.part`;

    let stream: ObjectStream;
    try {
      stream = await deps.storage.read(
        { bucket: object.bucket, key: object.key, versionId: object.versionId, etag: object.etag },
        signal,
      );
    } catch (err) {
      throw asStorageFailure(err, signal);
    }
    if (stream.size > deps.maxObjectBytes) {
      stream.body.destroy();
      throw tooLarge(object, stream.size);
    }

    const sha256 = createHash('sha256');
    let bytes = 0;
    let lastProgress = Date.now();
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        sha256.update(chunk);
        bytes += chunk.length;
        lastProgress = Date.now();
        ctx.heartbeat({ bytes, totalBytes: stream.size });
        done(null, chunk);
      },
    });
    // Heartbeats go on while the transfer waits for bytes, so a cancellation reaches a slow or
    // stalled download at once; a transfer with no bytes for STALL_MS is abandoned and retried.
    const stalled = new AbortController();
    const watchdog = setInterval(() => {
      if (Date.now() - lastProgress > deps.stallMs) stalled.abort(new Error(`download of s3://${object.bucket}/${object.key} stalled: no bytes for ${deps.stallMs} ms`));
      else ctx.heartbeat({ bytes, totalBytes: stream.size });
    }, Math.min(1_000, deps.stallMs));
    try {
      await pipeline(stream.body, meter, createWriteStream(partial), { signal: AbortSignal.any([signal, stalled.signal]) });
      if (bytes !== stream.size) {
        // A short read is a transfer problem, not a property of the object: retry.
        throw new Error(`download of s3://${object.bucket}/${object.key} ended at ${bytes} of ${stream.size} bytes`);
      }
      await rename(partial, path);
    } catch (err) {
      await rm(partial, { force: true });
      rethrowIfCancelled(err, signal);
      if (stalled.signal.aborted) throw stalled.signal.reason;
      throw err;
    } finally {
      clearInterval(watchdog);
    }
    return { path, ...describeFile(object, stream, sha256.digest('hex'), bytes) };
  }

  /** The downloaded file on this worker; fetched again if another worker did the download. */
  async function localCopy(object: IngestInput, file: DownloadedFile): Promise<string> {
    const path = join(runScratchDir(deps.scratchDir, currentRun()), SOURCE_FILE);
    const present = await stat(path).then((s) => s.size === file.sizeBytes, () => false);
    if (present) return path;
    const again = await fetchToScratch({ ...object, etag: file.etag || object.etag });
    if (again.sha256 !== file.sha256) {
      throw ApplicationFailure.nonRetryable(
        `s3://${object.bucket}/${object.key} changed between download and extraction`,
        failure.ObjectChanged,
      );
    }
    return again.path;
  }

  async function readInsights(key: string, signal?: AbortSignal): Promise<Insights> {
    return (JSON.parse(await deps.storage.readText(deps.workBucket, key, signal)) as { insights: Insights }).insights;
  }

  /** Each chunk's embedding from the stored batches, in chunk order. */
  async function attachEmbeddings(chunks: ChunkRecord[], model: ModelAnalysis): Promise<void> {
    const vectors: number[][] = [];
    for (const key of model.embeddingKeys) vectors.push(...(JSON.parse(await deps.storage.readText(deps.workBucket, key)) as { vectors: number[][] }).vectors);
    if (vectors.length !== chunks.length) throw new Error(`${vectors.length} embeddings for ${chunks.length} chunks`);
    chunks.forEach((chunk, i) => Object.assign(chunk, { embedding: vectors[i], embeddingModel: model.plan.embeddingModel }));
  }

  return {
    async download(object: IngestInput): Promise<DownloadedFile> {
      const { version, etag, sha256, sizeBytes, contentType } = await fetchToScratch(object);
      return { version, etag, sha256, sizeBytes, contentType };
    },

    async extract(input: { object: IngestInput; file: DownloadedFile; workPrefix: string }): Promise<ExtractedText> {
      const ctx = Context.current();
      const signal = ctx.cancellationSignal;
      try {
        const path = await localCopy(input.object, input.file);
        const content = await keepHeartbeating(() =>
          deps.extract(path, { key: input.object.key, contentType: input.file.contentType }, { signal }),
        );
        const textKey = `${input.workPrefix}text.txt`;
        await deps.storage.writeText(deps.workBucket, textKey, content.text, 'text/plain; charset=utf-8', signal);
        const plan = await deps.planAnalysis?.(content.text, input.workPrefix, signal);
        return { format: content.format, textChars: content.text.length, metadata: content.metadata, textKey, ...(plan ? { plan } : {}) };
      } catch (err) {
        rethrowIfCancelled(err, signal);
        if (err instanceof UnsupportedContentError) {
          throw ApplicationFailure.nonRetryable(`unsupported file s3://${input.object.bucket}/${input.object.key}: ${err.message}`, failure.UnsupportedContent);
        }
        if (err instanceof CorruptContentError) {
          throw ApplicationFailure.nonRetryable(`unreadable ${err.format} file s3://${input.object.bucket}/${input.object.key}: ${err.message}`, failure.CorruptContent);
        }
        throw err;
      } finally {
        // From here on every step reads the text from the work bucket: the local copy has done
        // its job, on success or not (a retry fetches it again).
        await rm(runScratchDir(deps.scratchDir, currentRun()), { recursive: true, force: true });
      }
    },

    /**
     * The local analysis (chunks always; language, summary and keywords when there is no model),
     * with what a model wrote in place of the local summary and keywords when `insightsKey` names it.
     */
    async analyse(input: { textKey: string; workPrefix: string; insightsKey?: string | undefined }): Promise<AnalysedText> {
      const signal = Context.current().cancellationSignal;
      const text = await deps.storage.readText(deps.workBucket, input.textKey, signal);
      const analysis = await keepHeartbeating(() => deps.ai.analyse(text, { signal }));
      const chunksKey = `${input.workPrefix}chunks.jsonl`;
      const lines = analysis.chunks.map((c) => JSON.stringify({ seq: c.index, start: c.start, end: c.end, text: c.text }));
      await deps.storage.writeText(deps.workBucket, chunksKey, lines.join('\n'), 'application/x-ndjson', signal);
      const local = {
        language: analysis.language,
        summary: analysis.summary,
        keywords: analysis.keywords,
        chunkCount: analysis.chunks.length,
        chunksKey,
      };
      if (input.insightsKey === undefined) return local;
      const insights = await readInsights(input.insightsKey, signal);
      return {
        ...local,
        // The model's language when it names one; the local detection otherwise.
        language: insights.language === 'und' ? local.language : insights.language,
        summary: insights.summary,
        keywords: insights.keywords,
        title: insights.title,
        labels: insights.labels,
      };
    },

    async persist(input: {
      object: IngestInput;
      file: DownloadedFile;
      content: ExtractedText;
      analysis: AnalysedText;
      model?: ModelAnalysis | undefined;
      /** Absent in runs recorded before lineage. */
      run?: { steps: RunStep[]; buildId?: string | undefined } | undefined;
    }): Promise<{ id: string; created: boolean }> {
      const { workflowId, runId } = currentRun();
      // The text outlives the run's work prefix, under a key of the object version (written before
      // the row, so a visible asset always has its text).
      const textKey = assetTextKey(input.object.bucket, input.object.key, input.file.version);
      await deps.storage.copy(deps.workBucket, input.content.textKey, textKey);
      const raw = await deps.storage.readText(deps.workBucket, input.analysis.chunksKey);
      const chunks = raw === '' ? [] : raw.split('\n').map((line) => JSON.parse(line) as ChunkRecord);
      const model = input.model;
      const insights = model ? await readInsights(model.insightsKey) : undefined;
      if (model && model.embeddingKeys.length > 0) await attachEmbeddings(chunks, model);
      // Heartbeats while the transaction runs or waits on a lock (DB_WRITE's heartbeat timeout).
      return keepHeartbeating(() => deps.assets.upsert(
        {
          bucket: input.object.bucket,
          key: input.object.key,
          version: input.file.version,
          sha256: input.file.sha256,
          sizeBytes: input.file.sizeBytes,
          contentType: input.file.contentType,
          format: input.content.format,
          language: input.analysis.language,
          summary: input.analysis.summary,
          keywords: input.analysis.keywords,
          textChars: input.content.textChars,
          metadata: input.content.metadata,
          workflowId,
          runId,
          textKey,
          lineage: lineageOf(input, new Date()),
          ...(insights && model
            ? {
                title: insights.title,
                entities: insights.entities,
                labels: insights.labels,
                questions: insights.questions,
                aiRun: { ...model.plan, usage: usageOf(model.calls), calls: model.calls },
              }
            : {}),
        },
        chunks,
      ));
    },

    async cleanup(input: { workPrefix: string }): Promise<{ deletedObjects: number }> {
      await rm(runScratchDir(deps.scratchDir, currentRun()), { recursive: true, force: true });
      return { deletedObjects: await deps.storage.deletePrefix(deps.workBucket, input.workPrefix) };
    },
  };
}

export type IngestActivities = ReturnType<typeof createIngestActivities>;

function describeFile(object: IngestInput, head: ObjectHead, sha256: string, bytes: number): DownloadedFile {
  const etag = head.etag || object.etag || '';
  return {
    // The workflow id's version rule; an object named without any version (a run started before
    // every start path pinned one) is named by the ETag read, else its hash.
    version: objectVersion({ versionId: object.versionId, etag: object.etag ?? (etag || sha256) }),
    etag,
    sha256,
    sizeBytes: bytes,
    contentType: object.contentType ?? head.contentType,
  };
}

function tooLarge(object: IngestInput, size: number): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    `s3://${object.bucket}/${object.key} is ${size} bytes, above the ingest limit (INGEST_MAX_BYTES)`,
    failure.ObjectTooLarge,
  );
}

/** Where an asset's text is kept in the work bucket: one key per object version, outside ingest/ (which expires). */
export function assetTextKey(bucket: string, key: string, version: string): string {
  return `assets/${createHash('sha256').update(`${bucket}\0${key}\0${version}`).digest('hex').slice(0, 40)}/text.txt`;
}

/** How the asset was made: the run's steps and times, the worker, the extractor, the analysis. */
function lineageOf(
  input: { content: ExtractedText; model?: ModelAnalysis | undefined; run?: { steps: RunStep[]; buildId?: string | undefined } | undefined },
  now: Date,
): AssetLineage {
  const steps = input.run?.steps ?? [];
  const plan = input.model?.plan;
  return {
    workerBuildId: input.run?.buildId ?? null,
    worker: { identity: `${process.pid}@${hostname()}`, harvester: HARVESTER_VERSION },
    steps: steps.map((step, i) => ({ stage: step.stage, startedAt: step.startedAt, endedAt: steps[i + 1]?.startedAt ?? now.toISOString() })),
    extractor: extractorVersion(input.content.format as ContentFormat).extractor,
    analysis: plan
      ? { provider: plan.provider, model: plan.model, embeddingModel: plan.embeddingModel ?? null, promptVersion: plan.promptVersion }
      : { provider: 'local', model: null, embeddingModel: null, promptVersion: null },
  };
}
