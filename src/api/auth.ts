/**
 * The one bearer-token check: the operator API's key (applied once, in operator.ts) and the S3
 * webhook's token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { HttpError } from './errors.js';

const PREFIX = 'bearer ';

/**
 * Requires `Authorization: Bearer <token>`. The comparison is constant-time over SHA-256 digests,
 * so neither the token's content nor its length leaks through timing.
 */
export function requireBearer(expected: string, realm: string): MiddlewareHandler {
  const want = digest(Buffer.from(expected, 'utf8'));
  return async (c, next) => {
    const header = c.req.header('authorization');
    if (!header || header.length <= PREFIX.length || header.slice(0, PREFIX.length).toLowerCase() !== PREFIX) {
      c.header('WWW-Authenticate', `Bearer realm="${realm}"`);
      throw new HttpError(401, 'unauthorized', 'missing bearer token');
    }
    const given = digest(Buffer.from(header.slice(PREFIX.length).trim(), 'utf8'));
    if (!timingSafeEqual(given, want)) {
      c.header('WWW-Authenticate', `Bearer realm="${realm}", error="invalid_token"`);
      throw new HttpError(401, 'unauthorized', 'invalid bearer token');
    }
    await next();
  };
}

function digest(bytes: Buffer): Buffer {
  return createHash('sha256').update(bytes).digest();
}
