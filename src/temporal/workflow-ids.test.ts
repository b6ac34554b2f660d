import { describe, expect, it } from 'vitest';
import { ingestWorkflowId, MAX_READABLE_ID_BYTES } from './workflow-ids.js';

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
