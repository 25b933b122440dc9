// The HTTP face of flowbridge: REST API v1, web pages, /metrics and /healthz, one hono app.
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { csrf } from 'hono/csrf';
import { SettingsError } from '../dispatch/companions.ts';
import { createMetrics } from '../exporters/prometheus.ts';
import { accessByRoute, sessionsOf } from './access.ts';
import { LoginThrottle } from '../access/login-throttle.ts';
import { auditTrail } from './audit-trail.ts';
import { signIn, signOut } from './auth.ts';
import { contextStorage } from 'hono/context-storage';
import type { ApiContext } from './context.ts';
import { alertErrorResponse, alertsApi } from './alerts-api.ts';
import { rulesApi, rulesErrorResponse } from './rules-api.ts';
import { conditionalApi, conditionalErrorResponse } from './conditional-api.ts';
import { captureApi, captureErrorResponse } from './capture-api.ts';
import { openApiDocument } from './openapi.ts';
import { pages } from './pages.tsx';
import { pushApi, pushErrorResponse } from './push-api.ts';
import { recordingApi, recordingErrorResponse } from './recording-api.ts';
import { BadRequest, restApi } from './rest.ts';
import { processesApi } from './processes-api.ts';
import { userErrorResponse, usersApi } from './users-api.ts';
import { bodyLimits } from './body-limit.ts';
import { ExtractionOwners, pcapStreamBound, PerUserBound } from './per-user-bounds.ts';
import { WebCounters } from './web-counters.ts';
import { WEB_LIMIT_DEFAULTS, type WebStats } from '../model/web.ts';

export function createApp(ctx: ApiContext): Hono {
  const app = new Hono();
  const limits = { ...WEB_LIMIT_DEFAULTS, ...ctx.limits };
  const counters = new WebCounters();
  const throttle = new LoginThrottle();
  const webStats = (): WebStats => ({
    refused: { ...counters.refused }, loginFailures: { ...counters.loginFailures }, loginThrottled: counters.refused['login-throttled'], pcapStreams: counters.pcapStreams,
    sessions: sessionsOf(ctx).stats(), throttle: throttle.stats(),
  });
  const metrics = createMetrics(ctx.telemetry, webStats);

  app.onError((err, c) => {
    if (err instanceof BadRequest) return c.json({ error: err.message }, 400);
    if (err instanceof PerUserBound) return c.json({ error: err.message, bound: err.bound }, 429);
    const mapped = recordingErrorResponse(err) ?? pushErrorResponse(err) ?? alertErrorResponse(err) ?? conditionalErrorResponse(err) ?? captureErrorResponse(err) ?? userErrorResponse(err) ?? rulesErrorResponse(err);
    if (mapped) return c.json({ error: mapped.error }, mapped.status);
    if (err instanceof SettingsError) return c.json({ error: err.message }, err.status);
    if (err instanceof HTTPException && err.status === 403) {
      return c.json({ error: `forms are accepted from this server's own pages only (Origin ${new URL(c.req.url).origin})` }, 403);
    }
    return c.json({ error: `internal error: ${err.message}` }, 500);
  });
  app.notFound((c) => c.json({ error: `no route ${c.req.method} ${c.req.path} (see /api/v1/openapi.json)` }, 404));

  // Bodies are bounded before anything (the audit trail, a handler) reads them.
  app.use('*', bodyLimits(limits, counters));
  // The pages' forms: another site must not change settings or sign in through an operator's browser.
  const pageForms = csrf();
  app.use('*', (c, next) => (c.req.path.startsWith('/api/') ? next() : pageForms(c, next)));
  // API bodies are JSON (or NDJSON, for alerts): a text/plain or form body (what another site can make a browser send) is refused.
  app.use('/api/*', async (c, next) => {
    const hasBody = Number(c.req.header('content-length') ?? 0) > 0 || c.req.header('transfer-encoding') !== undefined;
    const type = c.req.header('content-type') ?? '';
    // The one exception: Stamus' workflow uploads an alert record as a file (curl -F file=@alert.json).
    const upload = c.req.method === 'POST' && c.req.path === '/api/v1/conditional-pcap/upload' && /^multipart\/form-data\b/i.test(type);
    if (hasBody && c.req.method !== 'GET' && !upload && !/^application\/(json|x-ndjson)\b/i.test(type)) {
      return c.json({ error: `the body must be JSON, sent with Content-Type: application/json (got ${JSON.stringify(c.req.header('content-type') ?? 'none')})` }, 415);
    }
    return next();
  });
  // Who may do what (access-rules.ts), every change written down (audit-trail.ts); the pages read the principal from contextStorage.
  app.use('*', contextStorage());
  app.use('*', auditTrail(ctx));
  app.use('*', accessByRoute(ctx));
  // What one caller may hold at once (per-user-bounds.ts): packet downloads here, extraction jobs in recording-api.ts.
  app.use('*', pcapStreamBound(limits, counters));
  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('/metrics', async (c) => c.text(await metrics.metrics(), 200, { 'content-type': metrics.contentType }));
  app.get('/api/v1/openapi.json', (c) => c.json(openApiDocument(ctx.version)));
  if (ctx.recordings) app.route('/', recordingApi(ctx, ctx.recordings, new ExtractionOwners(limits, counters)));
  if (ctx.push) app.route('/api/v1', pushApi(ctx.push));
  if (ctx.alerts) app.route('/api/v1', alertsApi(ctx.alerts));
  if (ctx.rules) app.route('/api/v1', rulesApi(ctx.rules));
  if (ctx.conditional) app.route('/api/v1', conditionalApi(ctx, ctx.conditional.pcap, ctx.conditional.uploads, ctx.alerts));
  if (ctx.captures) app.route('/api/v1', captureApi(ctx, ctx.captures));
  if (ctx.users) app.route('/api/v1', usersApi(ctx.users, ctx.audit));
  app.route('/api/v1', restApi(ctx));
  app.route('/api/v1', processesApi(ctx));
  // Before the pages: the login form's return address is checked here (same origin only).
  app.post('/login', signIn(ctx, { throttle, counters, sessionHours: limits.sessionHours }));
  app.post('/logout', signOut(ctx));
  app.route('/', pages(ctx));
  return app;
}
