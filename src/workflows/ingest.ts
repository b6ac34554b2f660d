import {
  CancellationScope,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { AnalysedText, ExtractedText, IngestActivities, ModelAnalysis as ModelOutputs, RunStep } from '../activities/ingest.js';
import { runUsage } from '../contracts/ai.js';
import { STAGE } from '../contracts/common.js';
import { INGEST_STAGE_START, type IngestInput, type IngestProgress, ingestProgressQuery, type IngestResult, type IngestStage } from '../contracts/ingest.js';
import { ANALYSE, CLEANUP, DOWNLOAD, EXTRACT, PERSIST } from './activity-options.js';
import { ModelAnalysis } from './model-analysis.js';

// Each step with its own profile (activity-options.ts): timeouts, heartbeats and retries.
const { download } = proxyActivities<IngestActivities>(DOWNLOAD);
const { extract } = proxyActivities<IngestActivities>(EXTRACT);
const { analyse } = proxyActivities<IngestActivities>(ANALYSE);
const { persist } = proxyActivities<IngestActivities>(PERSIST);
const { cleanup } = proxyActivities<IngestActivities>(CLEANUP);

/**
 * Failed runs keep their intermediate products, so that a retry (a Temporal reset to the failed
 * step) finds what the earlier steps wrote; the work bucket's lifecycle rule expires what is
 * never retried. Runs recorded before this change cleaned up on failure too.
 */
const KEEP_WORK_ON_FAILURE = 'keep-work-on-failure';

/**
 * ingest: one stored object becomes an analysed asset in Postgres.
 * download → extract → analyse → persist; intermediate products travel as S3 keys in the work
 * bucket (claim-check). They are removed when the run completes or is cancelled.
 */
export async function ingest(input: IngestInput): Promise<IngestResult> {
  let state: IngestProgress = { stage: 'downloading', progress: 0 };
  setHandler(ingestProgressQuery, () => state);
  // When each stage began (workflow time, the same on replay): the asset's lineage.
  const steps: RunStep[] = [];
  const enter = (stage: IngestStage): void => {
    state = { ...state, stage, progress: INGEST_STAGE_START[stage] };
    upsertSearchAttributes([{ key: STAGE, value: stage }]);
    steps.push({ stage, startedAt: new Date().toISOString() });
  };

  // The original run id survives a reset, so a retried run finds the files of the steps it does
  // not repeat.
  const workPrefix = `ingest/${workflowInfo().originalExecutionRunId}/`;
  let keepWork = false;
  try {
    enter('downloading');
    const file = await download(input);

    enter('extracting');
    const content = await extract({ object: input, file, workPrefix });

    enter('analysing');
    const { analysis, model } = await analyseText(content, workPrefix, (update) => {
      state = { ...state, ...update };
    });

    enter('persisting');
    const asset = await persist({ object: input, file, content, analysis, model, run: { steps, buildId: workerBuildId() } });

    enter('completed');
    return {
      ...state,
      assetId: asset.id,
      created: asset.created,
      bucket: input.bucket,
      key: input.key,
      version: file.version,
      sha256: file.sha256,
      sizeBytes: file.sizeBytes,
      format: content.format,
      language: analysis.language,
      keywords: analysis.keywords,
      summary: analysis.summary,
      textChars: content.textChars,
      chunks: analysis.chunkCount,
      ...(analysis.title === undefined ? {} : { title: analysis.title, labels: analysis.labels ?? [] }),
      ...(model ? { windows: model.windows, windowsDone: model.windows, usage: runUsage(model.plan.provider, model.calls) } : {}),
    };
  } catch (err) {
    keepWork = !isCancellation(err) && patched(KEEP_WORK_ON_FAILURE);
    throw err;
  } finally {
    // nonCancellable, so a cancelled run still gets to clean up after itself.
    if (!keepWork) await CancellationScope.nonCancellable(() => cleanup({ workPrefix }));
  }
}

type ModelSummary = ModelOutputs & { windows: number };

/**
 * The analyse stage: the local analysis alone, or, when extract planned model calls (a model is
 * configured), those calls first and the local chunks with the model's outputs after. Runs whose
 * extract recorded no plan (local, or recorded before models) take the local path on replay too.
 */
async function analyseText(
  content: ExtractedText,
  workPrefix: string,
  report: (update: Partial<IngestProgress>) => void,
): Promise<{ analysis: AnalysedText; model?: ModelSummary | undefined }> {
  const { textKey, plan } = content;
  if (!plan) return { analysis: await analyse({ textKey, workPrefix }) };

  const start = INGEST_STAGE_START.analysing;
  const span = INGEST_STAGE_START.persisting - start;
  const model: ModelAnalysis = new ModelAnalysis(plan, () =>
    report({
      // The windows are most of the stage; the combining calls and the chunks the rest.
      progress: start + span * 0.9 * (model.windowsDone / model.windows),
      windows: model.windows,
      windowsDone: model.windowsDone,
      usage: runUsage(plan.provider, model.calls),
    }),
  );
  report({ windows: model.windows, windowsDone: 0, usage: runUsage(plan.provider, []) });
  const insightsKey = await model.describe({ textKey, workPrefix });
  const analysis = await analyse({ textKey, workPrefix, insightsKey });
  const embeddingKeys = plan.embeddingModel
    ? await model.embed({ chunksKey: analysis.chunksKey, workPrefix, chunkCount: analysis.chunkCount, textChars: content.textChars })
    : [];
  return { analysis, model: { plan, insightsKey, embeddingKeys, calls: model.calls, windows: model.windows } };
}

/** The build id of the worker running this task: by default the SDK's version and a hash of the workflow bundle. */
function workerBuildId(): string | undefined {
  const info = workflowInfo();
  // Without worker deployments only the (deprecated) build id is set.
  return info.currentDeploymentVersion?.buildId ?? info.currentBuildId;
}
