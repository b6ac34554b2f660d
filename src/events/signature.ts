import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): `webhook-signature` holds one or
 * more space-separated `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, keyed by a `whsec_<base64>`
 * secret; the timestamp must be within 5 minutes either way; any configured secret may match
 * (receiver-side rotation).
 *
 * Written on node:crypto rather than the reference library (`standardwebhooks` 1.1.1), whose source
 * falls short here: its compare is a JavaScript loop that ignores a view's byteOffset (on two pooled
 * Buffers it compares the pool with itself), it signs `body.toString()` so different non-UTF-8 byte
 * strings share one signature, it accepts timestamps such as "123abc", and its pure-JavaScript
 * SHA-256 takes about 40 ms per MiB of body on the request path. Here the HMAC covers the raw bytes,
 * the compare is timingSafeEqual, and the body must be UTF-8 (JSON is) to be accepted at all.
 */

export const TOLERANCE_SECONDS = 5 * 60;

export type SignatureFailure =
  | 'missing_headers'
  | 'malformed_timestamp'
  | 'malformed_signature'
  | 'body_not_utf8'
  | 'timestamp_too_old'
  | 'timestamp_too_new'
  | 'no_matching_signature';

export interface SignatureHeaders {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
}

export type Verification =
  | { ok: true; webhookId: string; timestamp: number; /** The body exactly as verified, for parsing. */ body: string }
  | { ok: false; reason: SignatureFailure; /** For the server log; never the secret or a signature. */ detail: string };

export interface SignatureVerifier {
  /** `nowMs` defaults to the wall clock. */
  verify(headers: SignatureHeaders, body: Uint8Array, nowMs?: number): Verification;
}

// Seconds since the epoch, no sign, no leading zero, no fraction: exactly what the library signs.
const TIMESTAMP = /^(0|[1-9][0-9]{0,11})$/;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A verifier for `secrets`: one or more space-separated `whsec_<base64>` (EVENTS_SECRET). Throws at
 * construction, not per request, when a secret does not decode; the message never holds the secret.
 */
export function createSignatureVerifier(secrets: string): SignatureVerifier {
  const keys = secrets
    .split(' ')
    .filter((s) => s.length > 0)
    .map((secret, i) => {
      try {
        return decodeSecret(secret);
      } catch (err) {
        throw new Error(`events secret #${i + 1} is not a valid whsec_<base64> secret (${err instanceof Error ? err.message : 'undecodable'})`, { cause: err });
      }
    });
  if (keys.length === 0) throw new Error('at least one events secret is required');

  return {
    verify(headers, body, nowMs = Date.now()) {
      const { id, timestamp, signature } = headers;
      if (!id || !timestamp || !signature) {
        const missing = Object.entries({ 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature })
          .filter(([, value]) => !value)
          .map(([name]) => name);
        return fail('missing_headers', `missing ${missing.join(', ')}`);
      }
      if (!TIMESTAMP.test(timestamp)) return fail('malformed_timestamp', 'webhook-timestamp is not integer seconds since the epoch');
      const given = signature
        .split(' ')
        .filter((entry) => entry.startsWith('v1,') && entry.length > 3)
        .map((entry) => entry.slice(3));
      if (given.length === 0) return fail('malformed_signature', 'webhook-signature has no v1 signature');

      const seconds = Number(timestamp);
      const now = Math.floor(nowMs / 1000);
      if (now - seconds > TOLERANCE_SECONDS) return fail('timestamp_too_old', `webhook-timestamp is ${now - seconds} s old`);
      if (seconds - now > TOLERANCE_SECONDS) return fail('timestamp_too_new', `webhook-timestamp is ${seconds - now} s in the future`);

      let text: string;
      try {
        text = utf8.decode(body);
      } catch {
        return fail('body_not_utf8', 'the body is not valid UTF-8, so its signature cannot be checked byte for byte');
      }

      const candidates = given.map((b64) => Buffer.from(b64, 'base64'));
      for (const key of keys) {
        const expected = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest();
        // An HMAC-SHA256 is always 32 bytes, so skipping other lengths leaks nothing about the key.
        if (candidates.some((candidate) => candidate.length === expected.length && timingSafeEqual(candidate, expected))) {
          return { ok: true, webhookId: id, timestamp: seconds, body: text };
        }
      }
      return fail('no_matching_signature', `none of ${given.length} v1 signature(s) matches any of ${keys.length} secret(s)`);
    },
  };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** `whsec_<base64>` → the HMAC key bytes. */
function decodeSecret(secret: string): Buffer {
  const b64 = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  if (b64.length === 0 || !BASE64.test(b64)) throw new Error('not base64');
  return Buffer.from(b64, 'base64');
}

function fail(reason: SignatureFailure, detail: string): Verification {
  return { ok: false, reason, detail };
}
