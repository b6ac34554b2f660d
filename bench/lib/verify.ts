import type pg from 'pg';
import type { ObjectifyResult } from '../../src/contracts/objectify.js';
import { fmtInt, fmtMiB } from './report.js';

// A benchmark of a loader that lost rows would measure nothing: both loads are checked against
// the row count, and against each other value by value.

export async function verifyLoads(pool: pg.Pool, rows: number, copiedRows: number, result: ObjectifyResult): Promise<string> {
  const problems: string[] = [];
  if (copiedRows !== rows) problems.push(`COPY loaded ${fmtInt(copiedRows)} rows, not ${fmtInt(rows)}`);
  if (result.rowsRead !== rows) problems.push(`objectify read ${fmtInt(result.rowsRead)} rows, not ${fmtInt(rows)}`);
  if (result.objects !== rows) problems.push(`objectify published ${fmtInt(result.objects)} objects, not ${fmtInt(rows)}`);
  if (result.rowsRejected !== 0) problems.push(`objectify rejected ${fmtInt(result.rowsRejected)} rows`);
  // Every COPY row has an object with the same values (objectify's name is trimmed and uppercased).
  const { rows: matched } = await pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM bench_copy c JOIN objects o ON o.load_id = $1 AND o.key = c.id
     WHERE o.properties->>'id' = c.id AND o.properties->>'name' = upper(trim(c.name))
       AND (o.properties->>'amount')::float8 = c.amount AND (o.properties->>'count')::int = c.count
       AND (o.properties->>'day')::date = c.day AND (o.properties->>'active')::boolean = c.active`,
    [result.loadId],
  );
  const same = Number(matched[0]?.n ?? 0);
  if (same !== rows) problems.push(`only ${fmtInt(same)} of ${fmtInt(rows)} objects equal their COPY row`);
  if (problems.length > 0) throw new Error(`the loads do not match: ${problems.join('; ')}`);
  return `${fmtInt(rows)} objects = ${fmtInt(rows)} COPY rows, all values equal, 0 rejects`;
}

/** On-disk size (heap, TOAST and indexes) of each load, to show what the JSONB model costs. */
export async function tableSizes(pool: pg.Pool): Promise<string> {
  const { rows } = await pool.query<{ copy: string; objects: string }>(
    "SELECT pg_total_relation_size('bench_copy') AS copy, pg_total_relation_size('objects') AS objects",
  );
  const sizes = rows[0]!;
  return `bench_copy ${fmtMiB(Number(sizes.copy))}, objects ${fmtMiB(Number(sizes.objects))} (with indexes)`;
}
