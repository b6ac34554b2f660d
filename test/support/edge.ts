import { createHmac, randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { Harness } from './harness.js';

/**
 * Helpers for tests that throw bad input at the HTTP edge: the strict form of the uniform refusal,
 * Standard Webhooks signing done independently of the api's verifier, and the workflows a test's
 * task queue holds.
 */

/** A stack frame ("\n    at fn (file:1:2)", raw or JSON-escaped) or a path of this checkout. */
export function expectNoInternals(text: string): void {
  expect(text).not.toMatch(/(\n|\\n)\s+at /);
  expect(text).not.toContain(process.cwd());
  expect(text).not.toContain('node_modules');
}

/**
 * A 4xx (one of `status`) with exactly the uniform body `{ error: { code, message, requestId } }`:
 * nothing else in it, no stack trace, no server path. `code` (one of) is checked when given.
 */
export async function expectRefused(res: Response, status: number | readonly number[], code?: string | readonly string[]): Promise<void> {
  const text = await res.text();
  expect(res.status, `HTTP ${res.status}: ${text}`).toBeLessThan(500);
  expect(typeof status === 'number' ? [status] : status, `HTTP ${res.status}: ${text}`).toContain(res.status);
  const body = JSON.parse(text) as { error: { code: string; message: string; requestId: string } };
  expect(body).toEqual({ error: { code: expect.any(String) as unknown, message: expect.any(String) as unknown, requestId: expect.any(String) as unknown } });
  if (code !== undefined) expect(typeof code === 'string' ? [code] : code, text).toContain(body.error.code);
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(body.error.requestId.length).toBeGreaterThan(0);
  expectNoInternals(text);
}

/** Standard Webhooks headers over the exact bytes: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`. */
export function signedHeaders(
  body: string | Uint8Array,
  secret: string,
  options: { id?: string; timestamp?: number; scheme?: string } = {},
): Record<string, string> {
  const id = options.id ?? `msg_${randomBytes(8).toString('hex')}`;
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const signature = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64');
  return { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': `${options.scheme ?? 'v1'},${signature}` };
}

/** A fresh `whsec_` secret for EVENTS_SECRET. */
export function newEventsSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/** The workflow ids (one per execution, closed ones included) that visibility lists for `query` on the harness's task queue. */
export async function listWorkflowIds(h: Harness, query = ''): Promise<string[]> {
  const ids: string[] = [];
  const scoped = `TaskQueue = '${h.config.TEMPORAL_TASK_QUEUE}'${query ? ` AND ${query}` : ''}`;
  for await (const run of h.client.workflow.list({ query: scoped })) ids.push(run.workflowId);
  return ids.sort();
}
