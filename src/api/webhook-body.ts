/**
 * The body of a webhook delivery (the S3 notification and the signed events endpoint): read once,
 * under one size limit, kept as the raw bytes a signature covers, and parsed as JSON only when
 * the route asks (the signed endpoint asks after the signature has been checked).
 */
import { bodyLimit } from 'hono/body-limit';
import { createMiddleware } from 'hono/factory';
import { HttpError } from './errors.js';

export const MAX_EVENT_BYTES = 1024 * 1024;

export type WebhookBodyEnv = { Variables: { webhookBody: WebhookBody } };

export class WebhookBody {
  /** `bytes`: the body exactly as sent. */
  constructor(readonly bytes: Uint8Array) {}

  /** The bytes as UTF-8 text, as `Request.text()` reads them (a leading BOM dropped, bad sequences replaced). */
  text(): string {
    return new TextDecoder().decode(this.bytes);
  }
}

/** `JSON.parse`, or a 400 `invalid_json`: the one parse of a webhook body. */
export function parseWebhookJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError(400, 'invalid_json', 'the body is not valid JSON');
  }
}

/** Refuses a body above MAX_EVENT_BYTES (413 `payload_too_large`), then sets `c.var.webhookBody`. */
export function webhookBody() {
  const limit = bodyLimit({
    maxSize: MAX_EVENT_BYTES,
    onError: () => {
      throw new HttpError(413, 'payload_too_large', `event bodies are limited to ${MAX_EVENT_BYTES} bytes`);
    },
  });
  return createMiddleware<WebhookBodyEnv>((c, next) =>
    limit(c, async () => {
      c.set('webhookBody', new WebhookBody(new Uint8Array(await c.req.arrayBuffer())));
      await next();
    }),
  );
}
