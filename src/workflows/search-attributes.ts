import { defineSearchAttributeKey, type SearchAttributePair } from '@temporalio/common';

/**
 * Harvester's custom search attributes. They make runs searchable by pipeline, source and stage
 * in the API and in the Temporal Web UI. The dev server registers them at start
 * (`--search-attribute NAME=Keyword`); a production namespace needs them created once
 * (`temporal operator search-attribute create`).
 */
export const PIPELINE = defineSearchAttributeKey('HarvesterPipeline', 'KEYWORD');
export const SOURCE = defineSearchAttributeKey('HarvesterSource', 'KEYWORD');
export const STAGE = defineSearchAttributeKey('HarvesterStage', 'KEYWORD');

export const SEARCH_ATTRIBUTES = [PIPELINE, SOURCE, STAGE] as const;

/** What every run starts with: its pipeline, where its input comes from, and stage `queued`. */
export function startAttributes(pipeline: string, source: string): SearchAttributePair[] {
  return [
    { key: PIPELINE, value: pipeline },
    { key: SOURCE, value: source },
    { key: STAGE, value: 'queued' },
  ];
}
