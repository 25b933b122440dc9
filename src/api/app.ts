// The HTTP face of flowbridge: REST API v1, web pages, /metrics and /healthz, one hono app.
import { Hono } from 'hono';
import { SettingsError } from '../dispatch/companions.ts';
import { createMetricsRegistry } from '../exporters/prometheus.ts';
import { requireToken } from './auth.ts';
import type { ApiContext } from './context.ts';
import { openApiDocument } from './openapi.ts';
import { pages } from './pages.tsx';
import { BadRequest, restApi } from './rest.ts';

export function createApp(ctx: ApiContext): Hono {
  const app = new Hono();
  const metrics = createMetricsRegistry(ctx);

  app.onError((err, c) => {
    if (err instanceof BadRequest) return c.json({ error: err.message }, 400);
    if (err instanceof SettingsError) return c.json({ error: err.message }, err.status);
    return c.json({ error: `internal error: ${err.message}` }, 500);
  });
  app.notFound((c) => c.json({ error: `no route ${c.req.method} ${c.req.path} (see /api/v1/openapi.json)` }, 404));

  app.use('*', requireToken(ctx.auth));
  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('/metrics', async (c) => c.text(await metrics.metrics(), 200, { 'content-type': metrics.contentType }));
  app.get('/api/v1/openapi.json', (c) => c.json(openApiDocument(ctx.version)));
  app.route('/api/v1', restApi(ctx));
  app.route('/', pages(ctx));
  return app;
}
