/**
 * GET /docs: Swagger UI over /openapi.json, unauthenticated. Its files are served from the
 * swagger-ui-dist package, not a CDN, so the page works on a machine without internet access.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Hono } from 'hono';
import { HttpError } from '../errors.js';

/** The only files served, with their content types: nothing else of the package is reachable. */
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Harvester API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script>
    window.onload = () => {
      window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', persistAuthorization: true });
    };
  </script>
</body>
</html>
`;

export function docsRoutes(): Hono {
  const app = new Hono();
  const dist = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  const cache = new Map<string, Promise<Buffer>>();

  app.get('/docs', (c) => c.html(PAGE));
  app.get('/docs/:file', async (c) => {
    const file = c.req.param('file');
    const type = ASSETS[file];
    if (!type) throw new HttpError(404, 'not_found', `no docs asset ${file}`);
    let body = cache.get(file);
    if (!body) {
      body = readFile(join(dist, file));
      cache.set(file, body);
    }
    c.header('content-type', type);
    c.header('cache-control', 'public, max-age=86400');
    return c.body(new Uint8Array(await body));
  });
  return app;
}
