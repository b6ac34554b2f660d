import { runner } from 'node-pg-migrate';
import pg from 'pg';
import { packageFolder } from '../support/package-folder.js';

/** One line of progress; the scripts print it, tests pass nothing to stay quiet. */
export type MigrateLog = (message: string) => void;

const INVALID_CATALOG_NAME = '3D000';
const DUPLICATE_DATABASE = '42P04';
const UNIQUE_VIOLATION = '23505';

/**
 * Creates the database named in `databaseUrl` when it does not exist yet. Managed Postgres often
 * forbids the `postgres` maintenance database, so that one is only used when the target is missing.
 * Returns true when this call created it.
 */
export async function ensureDatabase(databaseUrl: string, log: MigrateLog = () => {}): Promise<boolean> {
  const target = new pg.Client({ connectionString: databaseUrl });
  try {
    await target.connect();
    return false;
  } catch (err) {
    if ((err as { code?: string }).code !== INVALID_CATALOG_NAME) throw err;
  } finally {
    await target.end();
  }

  const name = databaseName(databaseUrl);
  const maintenanceUrl = new URL(databaseUrl);
  maintenanceUrl.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: maintenanceUrl.toString() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)}`);
    log(`created database ${name}`);
    return true;
  } catch (err) {
    // Someone else (a parallel test run, a second process) created it in between: fine.
    if (isDuplicateDatabase(err)) return false;
    throw err;
  } finally {
    await admin.end();
  }
}

export interface MigrateOptions {
  databaseUrl: string;
  /** Created when missing; it also holds the migrations table, so schemas migrate independently. */
  schema: string;
  log?: MigrateLog;
  /** Defaults to the repository's `migrations` folder. */
  dir?: string;
}

/** Applies the pending numbered SQL migrations; returns the names it applied (none: up to date). */
export async function migrate(options: MigrateOptions): Promise<string[]> {
  const { databaseUrl, schema, log } = options;
  const say = log ?? (() => {});
  const applied = await runner({
    databaseUrl,
    dir: options.dir ?? packageFolder('migrations', import.meta.url),
    direction: 'up',
    schema,
    createSchema: true,
    migrationsSchema: schema,
    migrationsTable: 'pgmigrations',
    checkOrder: true,
    // All pending files commit together or not at all.
    singleTransaction: true,
    // Concurrent migrators (several api replicas, parallel test files) queue on the advisory lock
    // instead of failing.
    advisoryLockMode: 'wait',
    logger: { info: () => {}, warn: say, error: say },
  });
  const names = applied.map((m) => m.name);
  say(names.length > 0 ? `schema ${schema}: applied ${names.join(', ')}` : `schema ${schema}: up to date`);
  return names;
}

/**
 * 42P04 when the database already existed at the start; a creator racing ours past that check
 * instead trips the unique index of pg_database (23505).
 */
function isDuplicateDatabase(err: unknown): boolean {
  const { code, constraint } = err as { code?: string; constraint?: string };
  return code === DUPLICATE_DATABASE || (code === UNIQUE_VIOLATION && constraint === 'pg_database_datname_index');
}

function databaseName(databaseUrl: string): string {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.replace(/^\//, ''));
  if (!name) throw new Error(`DATABASE_URL names no database (host ${new URL(databaseUrl).host})`);
  return name;
}

/** Drops a schema with everything in it (tests' and benchmarks' throwaway schemas). */
export async function dropSchema(databaseUrl: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${client.escapeIdentifier(schema)} CASCADE`);
  } finally {
    await client.end();
  }
}
