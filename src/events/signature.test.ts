import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSignatureVerifier, TOLERANCE_SECONDS, type SignatureHeaders } from './signature.js';

// Signs with node:crypto, independently of the library under test.
function sign(secret: string, id: string, timestamp: number | string, body: string | Uint8Array): string {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64')}`;
}

const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;
const bytes = (text: string) => new TextEncoder().encode(text);

// The Standard Webhooks specification's test vector.
const SPEC = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};
const specHeaders = (signature = SPEC.signature): SignatureHeaders => ({ id: SPEC.id, timestamp: String(SPEC.timestamp), signature });
const atSpecTime = (offsetSeconds = 0) => (SPEC.timestamp + offsetSeconds) * 1000;

describe('Standard Webhooks signature', () => {
  const verifier = createSignatureVerifier(SPEC.secret);

  it('accepts the specification test vector at its time, and returns the verified body', () => {
    expect(sign(SPEC.secret, SPEC.id, SPEC.timestamp, SPEC.body)).toBe(SPEC.signature);
    expect(verifier.verify(specHeaders(), bytes(SPEC.body), atSpecTime())).toEqual({
      ok: true,
      webhookId: SPEC.id,
      timestamp: SPEC.timestamp,
      body: SPEC.body,
    });
  });

  it('refuses a tampered body, id or timestamp', () => {
    expect(verifier.verify(specHeaders(), bytes('{"test": 2432232315}'), atSpecTime())).toMatchObject({ ok: false, reason: 'no_matching_signature' });
    expect(verifier.verify({ ...specHeaders(), id: 'msg_other' }, bytes(SPEC.body), atSpecTime())).toMatchObject({ ok: false, reason: 'no_matching_signature' });
    expect(verifier.verify({ ...specHeaders(), timestamp: String(SPEC.timestamp + 1) }, bytes(SPEC.body), atSpecTime())).toMatchObject({ ok: false, reason: 'no_matching_signature' });
  });

  it('refuses a signature made with another secret', () => {
    const other = sign(newSecret(), SPEC.id, SPEC.timestamp, SPEC.body);
    expect(verifier.verify(specHeaders(other), bytes(SPEC.body), atSpecTime())).toMatchObject({ ok: false, reason: 'no_matching_signature' });
  });

  it('allows five minutes of clock difference either way, and no more', () => {
    const body = bytes(SPEC.body);
    expect(verifier.verify(specHeaders(), body, atSpecTime(TOLERANCE_SECONDS)).ok).toBe(true);
    expect(verifier.verify(specHeaders(), body, atSpecTime(-TOLERANCE_SECONDS)).ok).toBe(true);
    expect(verifier.verify(specHeaders(), body, atSpecTime(TOLERANCE_SECONDS + 1))).toMatchObject({ ok: false, reason: 'timestamp_too_old' });
    expect(verifier.verify(specHeaders(), body, atSpecTime(-TOLERANCE_SECONDS - 1))).toMatchObject({ ok: false, reason: 'timestamp_too_new' });
    // A correct signature does not rescue an old message: that is what stops replays.
    expect(verifier.verify(specHeaders(), body, atSpecTime(24 * 3600))).toMatchObject({ ok: false, reason: 'timestamp_too_old' });
  });

  it('accepts a header with several signatures when one of them matches', () => {
    const wrong = sign(newSecret(), SPEC.id, SPEC.timestamp, SPEC.body);
    const several = `${wrong} v1a,bm90LWEtdjEtc2lnbmF0dXJl v1,AAAA ${SPEC.signature}`;
    expect(verifier.verify(specHeaders(several), bytes(SPEC.body), atSpecTime()).ok).toBe(true);
    expect(verifier.verify(specHeaders(`${wrong} v1,AAAA`), bytes(SPEC.body), atSpecTime())).toMatchObject({ ok: false, reason: 'no_matching_signature' });
  });

  it('accepts a signature from any configured secret while one is rotated', () => {
    const [oldSecret, newer] = [newSecret(), newSecret()];
    const rotating = createSignatureVerifier(`${oldSecret} ${newer}`);
    const now = Date.now();
    const ts = Math.floor(now / 1000);
    const body = '{"n":1}';
    for (const secret of [oldSecret, newer]) {
      expect(rotating.verify({ id: 'msg_1', timestamp: String(ts), signature: sign(secret, 'msg_1', ts, body) }, bytes(body), now).ok).toBe(true);
    }
    const retired = createSignatureVerifier(newer);
    expect(retired.verify({ id: 'msg_1', timestamp: String(ts), signature: sign(oldSecret, 'msg_1', ts, body) }, bytes(body), now)).toMatchObject({
      ok: false,
      reason: 'no_matching_signature',
    });
  });

  it('signs the raw bytes: multi-byte UTF-8 and a byte-order mark verify as sent', () => {
    const body = '\uFEFF{"name":"Größe ✓ 🚀"}';
    const sent = bytes(body);
    expect(sent[0]).toBe(0xef); // the BOM is in the bytes, and must stay in what is verified
    const signature = sign(SPEC.secret, SPEC.id, SPEC.timestamp, sent);
    expect(verifier.verify(specHeaders(signature), sent, atSpecTime())).toMatchObject({ ok: true, body });
  });

  it('refuses a body that is not UTF-8, which the reference library could not tell apart from another', () => {
    const first = new Uint8Array([0x7b, 0xff, 0x7d]);
    const second = new Uint8Array([0x7b, 0xfe, 0x7d]);
    const signature = sign(SPEC.secret, SPEC.id, SPEC.timestamp, first);
    expect(verifier.verify(specHeaders(signature), first, atSpecTime())).toMatchObject({ ok: false, reason: 'body_not_utf8' });
    expect(verifier.verify(specHeaders(signature), second, atSpecTime())).toMatchObject({ ok: false, reason: 'body_not_utf8' });
  });

  it('names missing headers', () => {
    const body = bytes(SPEC.body);
    expect(verifier.verify({ id: undefined, timestamp: undefined, signature: undefined }, body, atSpecTime())).toEqual({
      ok: false,
      reason: 'missing_headers',
      detail: 'missing webhook-id, webhook-timestamp, webhook-signature',
    });
    expect(verifier.verify({ ...specHeaders(), signature: '' }, body, atSpecTime())).toEqual({ ok: false, reason: 'missing_headers', detail: 'missing webhook-signature' });
    expect(verifier.verify({ ...specHeaders(), id: undefined }, body, atSpecTime())).toMatchObject({ reason: 'missing_headers' });
  });

  it('refuses malformed timestamps and signature headers', () => {
    const body = bytes(SPEC.body);
    for (const timestamp of [`${SPEC.timestamp}abc`, `${SPEC.timestamp}.5`, `-${SPEC.timestamp}`, ` ${SPEC.timestamp}`, `0${SPEC.timestamp}`, '2021-02-26T15:42:10Z', '1e9']) {
      expect(verifier.verify({ ...specHeaders(), timestamp }, body, atSpecTime()), timestamp).toMatchObject({ ok: false, reason: 'malformed_timestamp' });
    }
    for (const signature of ['g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=', 'v2,abc', 'v1,', 'v1 g0hM9SsE', ' ']) {
      expect(verifier.verify(specHeaders(signature), body, atSpecTime()), signature).toMatchObject({ ok: false, reason: 'malformed_signature' });
    }
  });

  it('never puts the secret or a signature in the failure detail', () => {
    const wrong = sign(newSecret(), SPEC.id, SPEC.timestamp, SPEC.body);
    const result = verifier.verify(specHeaders(wrong), bytes(SPEC.body), atSpecTime());
    expect(result.ok).toBe(false);
    const text = JSON.stringify(result);
    for (const secretish of [SPEC.secret.slice(6), wrong.slice(3), SPEC.signature.slice(3)]) expect(text).not.toContain(secretish);
  });

  it('refuses an undecodable secret at construction, without echoing it', () => {
    expect(() => createSignatureVerifier('whsec_abc')).toThrow(/secret #1 is not a valid whsec_<base64> secret/);
    expect(() => createSignatureVerifier(`${SPEC.secret} whsec_abc`)).toThrow(/secret #2/);
    expect(() => createSignatureVerifier('whsec_abc')).not.toThrow(/abc\b/);
    expect(() => createSignatureVerifier('  ')).toThrow(/at least one/);
  });
});
