import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { connectionOptions } from './connection.js';

let dir: string;
const config = (env: Record<string, string>) => loadConfig({ env: { TEMPORAL_ADDRESS: 'temporal.example:7233', ...env }, envFile: false });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'harvester-tls-'));
  await writeFile(join(dir, 'client.pem'), 'CLIENT CERT');
  await writeFile(join(dir, 'client.key'), 'CLIENT KEY');
  await writeFile(join(dir, 'ca.pem'), 'PRIVATE CA');
});

afterAll(() => rm(dir, { recursive: true, force: true }));

describe('connectionOptions', () => {
  it('is plain gRPC by default, as the dev server wants', () => {
    expect(connectionOptions(config({}))).toEqual({ address: 'temporal.example:7233', tls: undefined, apiKey: undefined });
  });

  it('sends an API key over TLS only (Temporal Cloud)', () => {
    expect(connectionOptions(config({ TEMPORAL_API_KEY: 'key-1' }))).toEqual({ address: 'temporal.example:7233', tls: {}, apiKey: 'key-1' });
  });

  it('reads the client certificate, key and private CA of a mutual-TLS cluster', () => {
    const options = connectionOptions(
      config({
        TEMPORAL_TLS_CLIENT_CERT_PATH: join(dir, 'client.pem'),
        TEMPORAL_TLS_CLIENT_KEY_PATH: join(dir, 'client.key'),
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'ca.pem'),
        TEMPORAL_TLS_SERVER_NAME: 'frontend.temporal.internal',
      }),
    );
    expect(options.tls).toEqual({
      clientCertPair: { crt: Buffer.from('CLIENT CERT'), key: Buffer.from('CLIENT KEY') },
      serverRootCACertificate: Buffer.from('PRIVATE CA'),
      serverNameOverride: 'frontend.temporal.internal',
    });
  });

  it('refuses a certificate without its key, and names a file it cannot read', () => {
    expect(() => connectionOptions(config({ TEMPORAL_TLS_CLIENT_CERT_PATH: join(dir, 'client.pem') }))).toThrow(/set both \(mutual TLS\) or neither/);
    expect(() => connectionOptions(config({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'missing.pem') }))).toThrow(/TEMPORAL_TLS_SERVER_CA_CERT_PATH: cannot read .*missing\.pem \(ENOENT\)/);
  });
});
