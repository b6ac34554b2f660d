import { describe, expect, it } from 'vitest';
import { decodeKey, parseS3Event, S3EventError } from './parse.js';

// Shaped after a real AWS S3 notification (eventVersion 2.1).
function awsRecord(key: string, overrides: Record<string, unknown> = {}) {
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: 'eu-west-1',
    eventTime: '2026-11-23T09:00:00.000Z',
    eventName: 'ObjectCreated:Put',
    userIdentity: { principalId: 'AWS:AIDAEXAMPLE' },
    requestParameters: { sourceIPAddress: '203.0.113.7' },
    responseElements: { 'x-amz-request-id': 'C3D13FE58DE4C810', 'x-amz-id-2': 'FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD' },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'harvester',
      bucket: { name: 'uploads', ownerIdentity: { principalId: 'A3NL1KOZZKExample' }, arn: 'arn:aws:s3:::uploads' },
      object: { key, size: 1024, eTag: 'd41d8cd98f00b204e9800998ecf8427e', sequencer: '0055AED6DCD90281E5' },
    },
    ...overrides,
  };
}

// Shaped after what MinIO's webhook target POSTs: one record, EventName/Key at the top.
function minioBody(key: string, eventName = 's3:ObjectCreated:Put') {
  return {
    EventName: eventName,
    Key: `uploads/${decodeURIComponent(key.replace(/\+/g, ' '))}`,
    Records: [
      {
        eventVersion: '2.0',
        eventSource: 'minio:s3',
        awsRegion: '',
        eventTime: '2026-11-23T09:00:00.000Z',
        eventName,
        userIdentity: { principalId: 'minioadmin' },
        requestParameters: { principalId: 'minioadmin', region: '', sourceIPAddress: '127.0.0.1' },
        responseElements: { 'x-amz-id-2': 'dd9025bab4ad464b', 'x-amz-request-id': '1879E3D0A0B1C2D3' },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'Config',
          bucket: { name: 'uploads', ownerIdentity: { principalId: 'minioadmin' }, arn: 'arn:aws:s3:::uploads' },
          object: {
            key,
            size: 12,
            eTag: '6f5902ac237024bdd0c176cb93063dc4',
            contentType: 'text/plain',
            userMetadata: { 'content-type': 'text/plain' },
            sequencer: '1879E3D0A0B1C2D3',
          },
        },
        source: { host: '127.0.0.1', port: '', userAgent: 'aws-sdk-js/3' },
      },
    ],
  };
}

function ingestOf(body: unknown) {
  const decision = parseS3Event(body);
  if (decision.kind !== 'records') throw new Error('expected records');
  return decision.records;
}

describe('parseS3Event', () => {
  it('reads an AWS body with several records and form-encoded keys', () => {
    const records = ingestOf({
      Records: [
        awsRecord('reports/2026/Q3+summary.pdf'),
        awsRecord('caf%C3%A9/men%C3%BC+%2B+more.txt', { eventName: 'ObjectCreated:CompleteMultipartUpload' }),
      ],
    });
    expect(records).toEqual([
      {
        action: 'ingest',
        eventName: 'ObjectCreated:Put',
        object: {
          bucket: 'uploads',
          key: 'reports/2026/Q3 summary.pdf',
          versionId: undefined,
          etag: 'd41d8cd98f00b204e9800998ecf8427e',
          size: 1024,
          contentType: undefined,
        },
      },
      expect.objectContaining({
        action: 'ingest',
        eventName: 'ObjectCreated:CompleteMultipartUpload',
        object: expect.objectContaining({ key: 'café/menü + more.txt' }) as unknown,
      }),
    ]);
  });

  it('reads a MinIO body with %2F separators, the s3: prefix and a content type', () => {
    const [record] = ingestOf(minioBody('inbox%2F2026%2Fhello+world+%E6%97%A5%E6%9C%AC.txt'));
    expect(record).toEqual({
      action: 'ingest',
      eventName: 'ObjectCreated:Put',
      object: {
        bucket: 'uploads',
        key: 'inbox/2026/hello world 日本.txt',
        versionId: undefined,
        etag: '6f5902ac237024bdd0c176cb93063dc4',
        size: 12,
        contentType: 'text/plain',
      },
    });
  });

  it('keeps a versionId and drops the "null" version of unversioned buckets', () => {
    const versioned = awsRecord('a.txt');
    versioned.s3.object = { ...versioned.s3.object, versionId: '3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY' } as typeof versioned.s3.object;
    const unversioned = awsRecord('b.txt');
    unversioned.s3.object = { ...unversioned.s3.object, versionId: 'null' } as typeof unversioned.s3.object;
    const [a, b] = ingestOf({ Records: [versioned, unversioned] });
    expect(a).toMatchObject({ object: { versionId: '3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY' } });
    expect(b).toMatchObject({ object: { versionId: undefined } });
  });

  it('strips quotes around an eTag', () => {
    const record = awsRecord('q.txt');
    record.s3.object.eTag = '"abc123-2"';
    expect(ingestOf({ Records: [record] })[0]).toMatchObject({ object: { etag: 'abc123-2' } });
  });

  it('ignores events that do not create content', () => {
    const records = ingestOf({
      Records: [
        awsRecord('x.txt', { eventName: 'ObjectRemoved:Delete' }),
        awsRecord('x.txt', { eventName: 's3:ObjectCreated:PutTagging' }),
        awsRecord('x.txt', { eventName: 's3:ObjectAccessed:Get' }),
      ],
    });
    expect(records.map((r) => r.action)).toEqual(['ignore', 'ignore', 'ignore']);
  });

  it('recognises the s3:TestEvent sent when a notification is set up', () => {
    expect(
      parseS3Event({
        Service: 'Amazon S3',
        Event: 's3:TestEvent',
        Time: '2026-11-23T09:00:00.000Z',
        Bucket: 'uploads',
        RequestId: '5582815E1AEA5ADF',
        HostId: '8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE',
      }),
    ).toEqual({ kind: 'test-event' });
  });

  it.each([
    ['a JSON array', []],
    ['null', null],
    ['an empty Records list', { Records: [] }],
    ['a record without a bucket', { Records: [{ eventName: 'ObjectCreated:Put', s3: { object: { key: 'a', eTag: 'e' } } }] }],
    ['a negative size', { Records: [awsRecord('a', { s3: { bucket: { name: 'uploads' }, object: { key: 'a', size: -1, eTag: 'e' } } })] }],
    ['an invalid bucket name', { Records: [awsRecord('a', { s3: { bucket: { name: 'Not_A_Bucket' }, object: { key: 'a', eTag: 'e' } } })] }],
    ['no eTag and no versionId', { Records: [awsRecord('a', { s3: { bucket: { name: 'uploads' }, object: { key: 'a' } } })] }],
    ['broken percent-encoding', { Records: [awsRecord('bad%E0%A4%A')] }],
    ['a NUL byte in the key', { Records: [awsRecord('a%00b')] }],
  ])('rejects %s', (_name, body) => {
    expect(() => parseS3Event(body)).toThrow(S3EventError);
  });
});

describe('decodeKey', () => {
  it('accepts a key of exactly 1024 bytes and refuses 1025', () => {
    expect(decodeKey('k'.repeat(1024))).toHaveLength(1024);
    expect(() => decodeKey('k'.repeat(1025))).toThrow(/1024 bytes/);
    // 'é' is two bytes in UTF-8: 512 of them fill the limit.
    expect(decodeKey('%C3%A9'.repeat(512))).toBe('é'.repeat(512));
    expect(() => decodeKey('%C3%A9'.repeat(513))).toThrow(/1024 bytes/);
  });

  it('keeps unicode normalisation forms distinct (S3 keys are byte strings)', () => {
    const nfc = decodeKey(encodeURIComponent('é'.normalize('NFC')));
    const nfd = decodeKey(encodeURIComponent('é'.normalize('NFD')));
    expect(nfc).not.toBe(nfd);
  });

  it('decodes a literal plus sign sent as %2B', () => {
    expect(decodeKey('a%2Bb+c')).toBe('a+b c');
  });
});
