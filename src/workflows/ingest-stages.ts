/**
 * The ingest stages and where each starts on the 0..1 progress scale: the transfer and the
 * analysis dominate a run's time. Pure data, shared by the workflow and the status API.
 */
export type IngestStage = 'downloading' | 'extracting' | 'analysing' | 'persisting' | 'completed';

export const STAGE_START: Record<IngestStage, number> = {
  downloading: 0,
  extracting: 0.4,
  analysing: 0.55,
  persisting: 0.85,
  completed: 1,
};
