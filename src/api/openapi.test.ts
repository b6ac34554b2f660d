import { compileErrors, validate } from '@readme/openapi-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp } from '../../test/support/api.js';
import { startHarness, type Harness } from '../../test/support/harness.js';

// The OpenAPI document is generated from the zod schemas that validate requests; an independent
// validator checks it against the OpenAPI 3.1 specification.

let h: Harness;
let app: ReturnType<typeof createTestApp>;

beforeAll(async () => {
  h = await startHarness({ worker: false });
  app = createTestApp(h);
});

afterAll(async () => {
  await h?.stop();
});

type Document = { openapi: string; paths: Record<string, Record<string, { security?: unknown[] }>>; components: { securitySchemes: Record<string, unknown> } };

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const res = await app.request('/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Document;
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid, result.valid ? '' : compileErrors(result)).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
  });

  it('documents every endpoint, with the authentication each needs', async () => {
    const doc = (await (await app.request('/openapi.json')).json()) as Document;
    const operations = Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
    expect(operations.sort()).toEqual(
      [
        'GET /healthz',
        'GET /readyz',
        'POST /api/v1/events/s3',
        'POST /api/v1/events',
        'POST /api/v1/workflows/ingest',
        'POST /api/v1/workflows/objectify',
        'POST /api/v1/mappings',
        'GET /api/v1/mappings',
        'GET /api/v1/mappings/{id}',
        'GET /api/v1/objects/{type}',
        'GET /api/v1/objects/{type}/{key}',
        'GET /api/v1/datasets/{id}',
        'GET /api/v1/workflows',
        'GET /api/v1/workflows/{id}',
        'GET /api/v1/workflows/{id}/history',
        'GET /api/v1/workflows/{id}/stream',
        'POST /api/v1/workflows/{id}/cancel',
        'POST /api/v1/workflows/{id}/retry',
        'POST /api/v1/connectors',
        'GET /api/v1/connectors',
        'GET /api/v1/connectors/{id}',
        'PATCH /api/v1/connectors/{id}',
        'DELETE /api/v1/connectors/{id}',
        'POST /api/v1/connectors/{id}/sync',
        'POST /api/v1/connectors/{id}/pause',
        'POST /api/v1/connectors/{id}/resume',
      ].sort(),
    );
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        if (/^\/api\/v1\/(workflows|mappings|objects|datasets|connectors)/.test(path)) expect(operation.security, `${method} ${path}`).toEqual([{ operatorApiKey: [] }]);
      }
    }
    expect(doc.paths['/api/v1/events/s3']?.post?.security).toEqual([{ webhookToken: [] }]);
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['operatorApiKey', 'webhookSignature', 'webhookToken']);
  });
});

describe('GET /docs', () => {
  it('serves Swagger UI from the package, without a CDN', async () => {
    const page = await app.request('/docs');
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("url: '/openapi.json'");
    expect(html).not.toMatch(/https?:\/\//);
    for (const asset of ['/docs/swagger-ui-bundle.js', '/docs/swagger-ui.css']) {
      const res = await app.request(asset);
      expect(res.status, asset).toBe(200);
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(10_000);
    }
    expect((await app.request('/docs/package.json')).status).toBe(404);
    expect((await app.request('/docs/..%2Fpackage.json')).status).toBe(404);
  });
});
