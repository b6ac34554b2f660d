import { readdir } from 'node:fs/promises';
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { testConfig, uniqueId } from '../../test/support/stack.js';
import { ensureDatabase, migrate } from './migrate.js';

const { DATABASE_URL: databaseUrl, DATABASE_SCHEMA: schema } = testConfig();
const concurrentSchema = `${schema}_c`;
const createdDatabases: string[] = [];
// Every migration in the folder, in order: a new one needs no change here.
const ALL = (await readdir('migrations')).filter((f) => f.endsWith('.sql')).sort().map((f) => f.replace(/\.sql$/, ''));
const TABLES = [
  'asset_ai_runs',
  'asset_chunks',
  'assets',
  'connector_cursors',
  'connector_objects',
  'connectors',
  'dataset_versions',
  'datasets',
  'mappings',
  'object_type_heads',
  'objectify_loads',
  'objectify_rejects',
  'objects',
  'pgmigrations',
];

afterAll(async () => {
  await withClient(async (client) => {
    for (const name of [schema, concurrentSchema]) {
      await client.query(`DROP SCHEMA IF EXISTS ${client.escapeIdentifier(name)} CASCADE`);
    }
    for (const name of createdDatabases) await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)}`);
  });
});

async function withClient<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const tablesIn = (name: string): Promise<string[]> =>
  withClient(async (client) => {
    const { rows } = await client.query<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
      [name],
    );
    return rows.map((r) => r.table_name);
  });

it('gives a fresh schema the tables, and a second run is a no-op', async () => {
  expect(await tablesIn(schema)).toEqual([]);

  expect(await migrate({ databaseUrl, schema })).toEqual(ALL);
  expect(ALL.slice(0, 2)).toEqual(['0001_assets', '0002_objectify']);
  expect(await tablesIn(schema)).toEqual(TABLES);

  expect(await migrate({ databaseUrl, schema })).toEqual([]);
  expect(await tablesIn(schema)).toEqual(TABLES);
});

it('lets concurrent migrators queue on the lock: one applies, the others find nothing to do', async () => {
  const runs = await Promise.all([1, 2, 3].map(() => migrate({ databaseUrl, schema: concurrentSchema })));
  expect(runs.flat()).toEqual(ALL);
});

it('creates a missing database exactly once, even with concurrent callers', async () => {
  const name = uniqueId('harvester_t').replace(/-/g, '_');
  createdDatabases.push(name);
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;

  const created = await Promise.all([1, 2, 3].map(() => ensureDatabase(url.toString())));
  expect(created.filter(Boolean)).toEqual([true]);
  expect(await ensureDatabase(url.toString())).toBe(false);
});
