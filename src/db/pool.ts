/**
 * src/db: Postgres: the pool, the migrations and one repository per table group (assets, mappings,
 * datasets and loads, objects, connectors); used by the api (reads, mappings, connectors) and the
 * worker's activities (writes).
 */
import pg from 'pg';
import type { Config } from '../config.js';

/** Told about a connection that failed while no query ran on it (a Postgres restart, pg_terminate_backend). */
export type IdleErrorListener = (err: Error) => void;

/**
 * One pool per process. The schema is set per connection so every query names tables
 * unqualified; tests give each file its own schema.
 */
export function createPool(
  config: Pick<Config, 'DATABASE_URL' | 'DATABASE_SCHEMA'>,
  max = 10,
  onIdleError: IdleErrorListener = () => {},
): pg.Pool {
  const pool = new pg.Pool({
    connectionString: config.DATABASE_URL,
    // DATABASE_SCHEMA is validated as a plain identifier by the config schema.
    options: `-c search_path=${config.DATABASE_SCHEMA}`,
    max,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    application_name: 'harvester',
  });
  // A connection that the server closes while no query runs on it (a restart, pg_terminate_backend)
  // is an 'error' event: on the pool for an idle pooled client, on the client itself for one that
  // is checked out between two queries. Unheard, Node turns either into an uncaught exception that
  // ends the process. The pool drops the dead connection itself, and a checked-out client's next
  // query fails (its activity is retried), so hearing the event is all there is to do.
  pool.on('error', onIdleError);
  pool.on('connect', (client) => client.on('error', onIdleError));
  return pool;
}

/** Runs fn in a transaction on one client, rolling back on any error. */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {
      // The connection may be what failed; the original error is the one worth reporting.
    });
    throw err;
  } finally {
    client.release();
  }
}
