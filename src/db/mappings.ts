import type pg from 'pg';
import type { MappingSpec } from '../objectify/spec.js';
import { fingerprint } from '../support/fingerprint.js';
import { inTransaction } from './pool.js';

export interface MappingRecord {
  id: string;
  objectType: string;
  /** 1, 2, … per object type, in the order specs were registered. */
  version: number;
  spec: MappingSpec;
  createdAt: string;
}

interface MappingRow {
  id: string;
  object_type: string;
  version: number;
  spec: MappingSpec;
  created_at: Date;
}

const COLUMNS = 'id, object_type, version, spec, created_at';

/** Mapping specs, versioned per object type and never changed once stored. */
export class PgMappingRepository {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * Stores a spec as the next version of its object type, or finds the version that already has
   * exactly this spec (key order and formatting do not matter): registering is idempotent.
   */
  async register(spec: MappingSpec): Promise<{ mapping: MappingRecord; created: boolean }> {
    const sha256 = fingerprint(spec);
    return inTransaction(this.pool, async (client) => {
      // One writer per object type at a time, so two registrations cannot take the same version.
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`mappings:${spec.objectType}`]);
      const existing = await client.query<MappingRow>(`SELECT ${COLUMNS} FROM mappings WHERE object_type = $1 AND spec_sha256 = $2`, [spec.objectType, sha256]);
      if (existing.rows[0]) return { mapping: toRecord(existing.rows[0]), created: false };
      const { rows } = await client.query<MappingRow>(
        `INSERT INTO mappings (object_type, version, spec, spec_sha256)
         SELECT $1, COALESCE(max(version), 0) + 1, $2, $3 FROM mappings WHERE object_type = $1
         RETURNING ${COLUMNS}`,
        [spec.objectType, JSON.stringify(spec), sha256],
      );
      return { mapping: toRecord(rows[0]!), created: true };
    });
  }

  async get(id: string): Promise<MappingRecord | undefined> {
    if (!/^\d{1,18}$/.test(id)) return undefined;
    const { rows } = await this.pool.query<MappingRow>(`SELECT ${COLUMNS} FROM mappings WHERE id = $1`, [id]);
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  /** Newest first; one object type, or all. */
  async list(options: { objectType?: string; limit: number }): Promise<MappingRecord[]> {
    const { rows } = await this.pool.query<MappingRow>(
      `SELECT ${COLUMNS} FROM mappings WHERE $1::text IS NULL OR object_type = $1 ORDER BY id DESC LIMIT $2`,
      [options.objectType ?? null, options.limit],
    );
    return rows.map(toRecord);
  }
}

function toRecord(row: MappingRow): MappingRecord {
  return { id: row.id, objectType: row.object_type, version: row.version, spec: row.spec, createdAt: row.created_at.toISOString() };
}
