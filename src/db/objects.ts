import type pg from 'pg';

/**
 * The read side of objectify: objects of an object type's published load, or of an earlier
 * published load by its id (`version`). Every query resolves the load once, so a page never mixes
 * two versions even while a new one is being published.
 */

export interface StoredObject {
  type: string;
  key: string;
  /** The load (dataset version through a mapping) the object belongs to. */
  version: string;
  properties: Record<string, unknown>;
}

export interface ObjectPage {
  objects: StoredObject[];
  /** Opaque (the last key, base64url); pass back as `cursor`. Null on the last page. */
  nextCursor: string | null;
}

export class PgObjectReader {
  constructor(private readonly pool: pg.Pool) {}

  /** The published load to read: the head, or the given published load of this type. */
  async resolveVersion(type: string, version?: string): Promise<string | undefined> {
    if (version !== undefined) {
      if (!/^\d{1,18}$/.test(version)) return undefined;
      const { rows } = await this.pool.query<{ id: string }>(
        'SELECT id FROM objectify_loads WHERE id = $1 AND object_type = $2 AND published_at IS NOT NULL',
        [version, type],
      );
      return rows[0]?.id;
    }
    const { rows } = await this.pool.query<{ load_id: string }>('SELECT load_id FROM object_type_heads WHERE object_type = $1', [type]);
    return rows[0]?.load_id;
  }

  /** Keyset pagination in key order: stable and cheap at any depth. */
  async list(type: string, loadId: string, page: { limit: number; cursor?: string }): Promise<ObjectPage> {
    const { rows } = await this.pool.query<{ key: string; properties: Record<string, unknown> }>(
      `SELECT key, properties FROM objects WHERE load_id = $1 AND ($2::text IS NULL OR key > $2) ORDER BY key LIMIT $3`,
      [loadId, page.cursor === undefined ? null : Buffer.from(page.cursor, 'base64url').toString('utf8'), page.limit + 1],
    );
    const more = rows.length > page.limit;
    const objects = rows.slice(0, page.limit).map((r) => ({ type, key: r.key, version: loadId, properties: r.properties }));
    const last = objects.at(-1);
    return { objects, nextCursor: more && last ? Buffer.from(last.key, 'utf8').toString('base64url') : null };
  }

  async get(type: string, loadId: string, key: string): Promise<StoredObject | undefined> {
    const { rows } = await this.pool.query<{ properties: Record<string, unknown> }>(
      'SELECT properties FROM objects WHERE load_id = $1 AND key = $2',
      [loadId, key],
    );
    return rows[0] ? { type, key, version: loadId, properties: rows[0].properties } : undefined;
  }
}
