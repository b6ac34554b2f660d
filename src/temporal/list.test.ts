import { describe, expect, it } from 'vitest';
import { InvalidPageTokenError, openPageToken, sealPageToken, visibilityQuery } from './list.js';

describe('visibilityQuery', () => {
  it('always scopes to the task queue and Harvester runs, and adds each filter', () => {
    expect(visibilityQuery('harvester', {})).toBe("TaskQueue = 'harvester' AND HarvesterPipeline IS NOT NULL");
    expect(
      visibilityQuery('harvester', {
        pipeline: 'ingest',
        source: 'uploads',
        stage: 'analysing',
        status: 'CANCELLED',
        startedAfter: new Date('2026-11-01T00:00:00Z'),
        startedBefore: new Date('2026-11-02T00:00:00Z'),
      }),
    ).toBe(
      "TaskQueue = 'harvester' AND HarvesterPipeline IS NOT NULL AND HarvesterPipeline = 'ingest' AND HarvesterSource = 'uploads'" +
        " AND HarvesterStage = 'analysing' AND ExecutionStatus = 'Canceled'" +
        " AND StartTime >= '2026-11-01T00:00:00.000Z' AND StartTime < '2026-11-02T00:00:00.000Z'",
    );
  });

  it('refuses a value that could leave its quotes', () => {
    expect(() => visibilityQuery('harvester', { source: "x' OR 'a' = 'a" })).toThrow(/unsafe value/);
    expect(() => visibilityQuery("q'", {})).toThrow(/unsafe value/);
  });
});

describe('page tokens', () => {
  const raw = Buffer.from('temporal page token bytes');

  it('round-trip for the same key and query', () => {
    const token = sealPageToken('key-1', 'q', raw);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(openPageToken('key-1', 'q', token)).toEqual(raw);
  });

  it('are refused for another query, another key, or when altered or made up', () => {
    const token = sealPageToken('key-1', 'q', raw);
    expect(() => openPageToken('key-1', 'q2', token)).toThrow(InvalidPageTokenError);
    expect(() => openPageToken('key-2', 'q', token)).toThrow(InvalidPageTokenError);
    const altered = Buffer.from(token, 'base64url');
    altered.writeUInt8(altered.readUInt8(altered.length - 1) ^ 1, altered.length - 1);
    expect(() => openPageToken('key-1', 'q', altered.toString('base64url'))).toThrow(InvalidPageTokenError);
    expect(() => openPageToken('key-1', 'q', 'bm90LWEtdG9rZW4')).toThrow(InvalidPageTokenError);
    expect(() => openPageToken('key-1', 'q', '')).toThrow(InvalidPageTokenError);
  });
});
