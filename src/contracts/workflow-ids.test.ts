import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { boundedId, eventWorkflowId, keyedWorkflowId, MAX_READABLE_ID_BYTES } from './common.js';
import { connectorScheduleId } from './connector-sync.js';
import { connectorIngestWorkflowId, ingestWorkflowId } from './ingest.js';
import { objectifyWorkflowId } from './objectify.js';

describe('ingestWorkflowId', () => {
  it('is readable for ordinary keys and prefers the versionId over the ETag', () => {
    expect(ingestWorkflowId({ bucket: 'uploads', key: 'a/b c.txt', etag: 'e1' })).toBe('ingest:uploads/a/b c.txt@e1');
    expect(ingestWorkflowId({ bucket: 'uploads', key: 'a', etag: 'e1', versionId: 'v9' })).toBe('ingest:uploads/a@v9');
  });

  it('hashes ids that would be too long, deterministically', () => {
    const object = { bucket: 'uploads', key: 'k'.repeat(1024), etag: 'e1' };
    const id = ingestWorkflowId(object);
    expect(id).toMatch(/^ingest:sha256:[0-9a-f]{64}$/);
    expect(ingestWorkflowId({ ...object })).toBe(id);
    expect(ingestWorkflowId({ ...object, etag: 'e2' })).not.toBe(id);
    expect(Buffer.byteLength(id)).toBeLessThan(MAX_READABLE_ID_BYTES);
  });

  it('refuses an object without any version', () => {
    expect(() => ingestWorkflowId({ bucket: 'uploads', key: 'a' })).toThrow(/versionId or an etag/);
  });
});

describe('boundedId', () => {
  it('hashes exactly as node:crypto does, so ids of runs started before the pure-JS hash stay the same', () => {
    for (const natural of ['k'.repeat(500), `uploads/${'ü'.repeat(300)}@e1`, `x${'\ud800'.repeat(200)}`]) {
      const hex = createHash('sha256').update(natural, 'utf8').digest('hex');
      expect(boundedId('ingest', natural)).toBe(`ingest:sha256:${hex}`);
    }
  });

  it('counts UTF-8 bytes, not characters', () => {
    const natural = 'é'.repeat(200); // 400 bytes: with the prefix, too long
    expect(boundedId('objectify', natural)).toMatch(/^objectify:sha256:/);
    expect(boundedId('objectify', 'e'.repeat(200))).toBe(`objectify:${'e'.repeat(200)}`);
  });
});

describe('the other ids', () => {
  const object = { bucket: 'datasets', key: 'countries.csv', etag: 'e1' };

  it('name one run per dataset version and mapping, caller key, event, connector object and schedule', () => {
    expect(objectifyWorkflowId(object, '7')).toBe('objectify:datasets/countries.csv@e1:mapping-7');
    expect(keyedWorkflowId('ingest', 'abc')).toBe('ingest:key:abc');
    expect(eventWorkflowId('objectify', 'crm/uploads', 'evt_1')).toBe('objectify:event:crm/uploads/evt_1');
    expect(connectorIngestWorkflowId('c1', object)).toBe('ingest:connector-c1/datasets/countries.csv@e1');
    expect(connectorScheduleId('c1')).toBe('connector-sync:c1');
  });
});
