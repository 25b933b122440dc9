// REST for IDS alerts: send Suricata EVE alert records (one JSON record, a JSON array,
// or NDJSON), list them newest first with the flow each joined, read one, and read
// the counters (by source, by signature, skipped event types, refused lines, unmatched).
// A body with any record that is not a usable alert is refused whole, naming the record.
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Alerts } from '../alerts/alerts.ts';
import type { AlertFilter } from '../alerts/alert-store.ts';
import { ACCEPTED, parseEveRecord } from '../alerts/eve.ts';
import type { AlertFlowRef, EveRecord, StoredAlert } from '../model/alert.ts';
import { BadRequest } from './rest.ts';

/** An alert id that is not (or no longer) in the store. */
export class AlertNotFound extends Error {}

/** Errors of this room as HTTP answers (null: not ours). */
export function alertErrorResponse(err: Error): { status: 404 | 413; error: string } | null {
  if (err instanceof AlertNotFound) return { status: 404, error: err.message };
  return null;
}

/** Largest body taken, and most records in one. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;
const MAX_RECORDS = 10_000;
const MAX_LIMIT = 10_000;

/** An alert as the API shows it. */
export function alertView(a: StoredAlert) {
  return {
    id: a.id, receivedAt: a.receivedAt, source: a.source, status: a.status,
    flow: a.flows[0] ?? null, flows: a.flows,
    ...(a.unmatchedReason ? { unmatchedReason: a.unmatchedReason } : {}),
    record: a.record,
  };
}

/** The records of a body: one JSON value (an object or an array of them), else one per line. */
function bodyRecords(text: string, ndjson: boolean): unknown[] {
  if (!ndjson) {
    try {
      const v = JSON.parse(text) as unknown;
      return Array.isArray(v) ? v : [v];
    } catch {
      // Several records one per line, sent as application/json: taken as NDJSON.
    }
  }
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return lines.map((line, i) => {
    try {
      return JSON.parse(line) as unknown;
    } catch (err) {
      throw new BadRequest(`${lines.length === 1 ? 'the body' : `line ${i + 1}`} is not valid JSON (${(err as Error).message}): send ${ACCEPTED}; one record as JSON, or several as NDJSON (one per line)`);
    }
  });
}

function parseFilter(params: Record<string, string | undefined>): AlertFilter {
  const known = ['signature_id', 'flow_id', 'community_id', 'status', 'limit'];
  for (const k of Object.keys(params)) if (!known.includes(k)) throw new BadRequest(`unknown parameter ${k} (accepted: ${known.join(', ')})`);
  const whole = (name: string, max: number) => {
    const v = params[name];
    if (v === undefined || v === '') return undefined;
    if (!/^\d+$/.test(v) || Number(v) > max) throw new BadRequest(`${name} ${JSON.stringify(v)} must be a whole number from 0 to ${max}`);
    return Number(v);
  };
  const f: AlertFilter = {};
  const sig = whole('signature_id', 0xffffffff);
  if (sig !== undefined) f.signatureId = sig;
  const flowId = whole('flow_id', Number.MAX_SAFE_INTEGER);
  if (flowId !== undefined) f.flowId = flowId;
  if (params.community_id) {
    if (!/^1:[A-Za-z0-9+/]{27}=$/.test(params.community_id)) throw new BadRequest(`community_id ${JSON.stringify(params.community_id)} is not a Community ID v1 (1: and 28 base64 characters)`);
    f.communityId = params.community_id;
  }
  if (params.status) {
    if (!['pending', 'matched', 'unmatched'].includes(params.status)) throw new BadRequest(`status ${JSON.stringify(params.status)} is not one of pending, matched, unmatched`);
    f.status = params.status as StoredAlert['status'];
  }
  const limit = whole('limit', MAX_LIMIT);
  if (limit !== undefined) {
    if (limit < 1) throw new BadRequest(`limit must be a whole number from 1 to ${MAX_LIMIT}`);
    f.limit = limit;
  }
  return f;
}

export function alertsApi(alerts: Alerts): Hono {
  const app = new Hono();
  app.get('/alerts', (c) => {
    const { total, alerts: list } = alerts.store.list(parseFilter(c.req.query()));
    return c.json({ total, alerts: list.map(alertView), store: alerts.store.stats() });
  });
  app.get('/alerts/stats', (c) => c.json(alerts.stats()));
  app.get('/alerts/:id', (c) => {
    const a = alerts.store.get(c.req.param('id'));
    if (!a) throw new AlertNotFound(`no alert ${JSON.stringify(c.req.param('id'))} (the store keeps the last ${alerts.store.max}; see GET /api/v1/alerts)`);
    return c.json(alertView(a));
  });
  app.post(
    '/alerts',
    bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (c) => c.json({ error: `the body is larger than ${MAX_BODY_BYTES} bytes: send fewer records at a time` }, 413) }),
    async (c) => {
      const ndjson = /^application\/(x-)?ndjson\b/i.test(c.req.header('content-type') ?? '');
      const records = bodyRecords(await c.req.text(), ndjson);
      if (records.length === 0) throw new BadRequest(`the body is empty: send ${ACCEPTED}`);
      if (records.length > MAX_RECORDS) throw new BadRequest(`${records.length} records: at most ${MAX_RECORDS} in one request`);
      const taken: { record: EveRecord; flow: AlertFlowRef }[] = [];
      records.forEach((value, i) => {
        const where = records.length === 1 ? 'the record' : `record ${i + 1}`;
        const parsed = parseEveRecord(value);
        if (parsed.kind === 'skipped') throw new BadRequest(`${where} has event_type ${JSON.stringify(parsed.eventType)}: only alerts are taken; send ${ACCEPTED}`);
        if (parsed.kind === 'rejected') throw new BadRequest(`${where} is not a usable alert: ${parsed.detail}; send ${ACCEPTED}`);
        taken.push(parsed);
      });
      const stored = alerts.accept(taken, 'api');
      return c.json({ alerts: stored.map(alertView) }, 201);
    },
  );
  return app;
}
