// The OpenAPI document is generated from the zod schemas that validate requests; an independent
// validator checks it against the OpenAPI 3.1 specification.
import { compileErrors, validate } from '@readme/openapi-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp } from '../../test/support/api.js';
import { startHarness, type Harness } from '../../test/support/harness.js';
import { FAILURE_TYPES } from '../contracts/failures.js';
import { ERROR_CODES } from './error-codes.js';
import { TAGS } from './openapi.js';

let h: Harness;
let app: ReturnType<typeof createTestApp>;

beforeAll(async () => {
  h = await startHarness({ worker: false });
  app = createTestApp(h);
});

afterAll(async () => {
  await h?.stop();
});

type Schema = { type?: string | string[]; enum?: string[]; description?: string; properties?: Record<string, Schema> };
type Document = {
  openapi: string;
  tags: Array<{ name: string; description?: string }>;
  paths: Record<string, Record<string, { security?: unknown[]; tags?: string[] }>>;
  components: { securitySchemes: Record<string, unknown>; schemas: Record<string, Schema> };
};

async function openApiDocument(): Promise<Document> {
  return (await (await app.request('/openapi.json')).json()) as Document;
}

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const res = await app.request('/openapi.json');
    expect(res.status).toBe(200);
    // Typed as what the validator takes: checking that it is one is the validator's job.
    const doc = (await res.json()) as Exclude<Parameters<typeof validate>[0], string> & { openapi: string };
    const result = await validate(structuredClone(doc));
    expect(result.valid, result.valid ? '' : compileErrors(result)).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
  });

  it('documents every endpoint, with the authentication each needs', async () => {
    const doc = await openApiDocument();
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
        'GET /api/v1/assets',
        'GET /api/v1/assets/by-object',
        'GET /api/v1/assets/{id}',
        'GET /api/v1/assets/{id}/chunks',
        'GET /api/v1/assets/{id}/text',
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

  it('groups every operation under exactly one of the declared tags, each described', async () => {
    const doc = await openApiDocument();
    expect(doc.tags.map((t) => t.name)).toEqual(Object.keys(TAGS));
    for (const tag of doc.tags) expect(tag.description, tag.name).toBeTruthy();
    const used = new Set<string>();
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        expect(operation.tags, `${method} ${path}`).toHaveLength(1);
        expect(Object.keys(TAGS), `${method} ${path}`).toContain(operation.tags![0]);
        used.add(operation.tags![0]!);
      }
    }
    expect([...used].sort()).toEqual(Object.keys(TAGS).sort());
  });

  it('shows the error codes as one closed enum, and the failure types a run can end with', async () => {
    const { schemas } = (await openApiDocument()).components;
    const code = schemas.Error?.properties?.error?.properties?.code;
    expect(code?.enum).toEqual([...ERROR_CODES]);
    for (const c of ERROR_CODES) expect(code?.description).toContain(`\`${c}\``);

    const failure = schemas.RunFailure;
    // Not nullable: a failed start's answer always has it (the run status wraps it in its own null).
    expect(failure?.type).toBe('object');
    const type = failure?.properties?.type;
    expect(type?.type).toBe('string');
    for (const name of [...Object.keys(FAILURE_TYPES), 'Timeout', 'Terminated', 'Cancelled']) expect(type?.description).toContain(name);
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
