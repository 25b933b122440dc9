// REST for conditional pcap (seed 002): the store's settings and figures, the seed's
// workflow for one alert (upload the record → a file name; extract; retrieve its
// state; download the flow's pcap) and the one-step GET /api/v1/alerts/:id/pcap. The
// downloads are packet routes (packet-access.ts): the pcap permission, one audit line each.
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { Hono, type Context } from 'hono';
import type { Alerts } from '../alerts/alerts.ts';
import { AlertPcapError, flowQuery, type AlertPcap, type AlertPcaps } from '../conditional/alert-pcaps.ts';
import type { ConditionalPcap } from '../conditional/conditional-pcap.ts';
import { ConditionalSettingsError, PATCH_ACCEPTED } from '../conditional/conditional-settings.ts';
import { ACCEPTED } from '../alerts/eve.ts';
import { streamExtraction } from '../recording/extraction-thread.ts';
import { EMPTY_REASON_TEXT, ExtractionError } from '../recording/reader.ts';
import { audit } from './audit-trail.ts';
import type { ApiContext } from './context.ts';
import { countedBody } from './packet-access.ts';
import { BadRequest } from './rest.ts';

const PCAP_TYPE = 'application/vnd.tcpdump.pcap';

/** Errors of this room as HTTP answers (null: not ours). */
export function conditionalErrorResponse(err: Error): { status: 400 | 404 | 409; error: string } | null {
  if (err instanceof AlertPcapError) return { status: err.status, error: err.message };
  if (err instanceof ConditionalSettingsError) return { status: 400, error: err.message };
  return null;
}

/** The seed's states: an upload not yet extracted is pending too (`stage` tells which). */
function retrieveView(e: AlertPcap) {
  const { status, ...rest } = e;
  return { ...rest, status: status === 'uploaded' ? 'pending' : status, stage: status === 'uploaded' ? 'uploaded' : status === 'pending' ? 'extracting' : 'done' };
}

async function jsonBody(c: Context, accepted: string): Promise<unknown> {
  try {
    return await c.req.json();
  } catch {
    throw new BadRequest(`the body is not valid JSON: send ${accepted}`);
  }
}

/** The seed's other way to upload: the alert record as a file in a multipart form (field `file`, as curl -F file=@alert.json). */
async function fileBody(c: Context): Promise<unknown> {
  const form = await c.req.parseBody();
  const file = form.file;
  if (!(file instanceof File)) throw new BadRequest('a multipart upload carries the alert record in a field named "file" (curl -F file=@alert.json)');
  if (file.size > MAX_UPLOAD_BYTES) throw new BadRequest(`the uploaded file is ${file.size} bytes: an alert record is at most ${MAX_UPLOAD_BYTES}`);
  try {
    return JSON.parse(await file.text()) as unknown;
  } catch {
    throw new BadRequest(`the uploaded file is not one JSON alert record: send ${ACCEPTED}`);
  }
}
const MAX_UPLOAD_BYTES = 1024 * 1024;

export function conditionalApi(ctx: ApiContext, conditional: ConditionalPcap, uploads: AlertPcaps, alerts: Alerts | undefined): Hono {
  const app = new Hono();
  const written = (c: Context, entry: Parameters<typeof audit>[2]) => {
    audit(ctx, c, entry);
    c.set('audit', { written: true });
  };

  app.get('/conditional-pcap', (c) => c.json({ ...conditional.stats(), uploads: uploads.stats() }));
  app.patch('/conditional-pcap', async (c) => {
    const settings = await conditional.change(await jsonBody(c, PATCH_ACCEPTED));
    return c.json({ ...conditional.stats(), settings });
  });
  app.post('/conditional-pcap/upload', async (c) => {
    const entry = uploads.upload(/^multipart\/form-data\b/i.test(c.req.header('content-type') ?? '') ? await fileBody(c) : await jsonBody(c, ACCEPTED));
    return c.json(retrieveView(entry), 201);
  });
  app.get('/conditional-pcap/uploads', (c) => c.json({ uploads: uploads.list().map(retrieveView), ...uploads.stats() }));
  app.post('/conditional-pcap/:filename/extract', (c) => c.json(retrieveView(uploads.extract(c.req.param('filename'))), 202));
  app.get('/conditional-pcap/:filename/retrieve', (c) => c.json(retrieveView(uploads.get(c.req.param('filename')))));
  app.get('/conditional-pcap/:filename/download', (c) => {
    const { path, bytes, entry } = uploads.file(c.req.param('filename'));
    written(c, { action: 'pcap.download', target: entry.filename, interface: entry.interface, parameters: { flow: entry.flow }, packets: entry.packets, bytes, result: 'sent', route: c.req.path });
    const body = Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>;
    return c.body(body, 200, { 'content-type': PCAP_TYPE, 'content-disposition': `attachment; filename="${entry.filename}"`, 'content-length': String(bytes), 'cache-control': 'no-store' });
  });

  // One step: the alert's flow, straight from the store.
  app.get('/alerts/:id/pcap', async (c) => {
    const id = c.req.param('id');
    const a = alerts?.store.get(id);
    if (!a) throw new AlertPcapError(`no alert ${JSON.stringify(id)} (see GET /api/v1/alerts)`, 404);
    if (a.status !== 'matched') throw new AlertPcapError(`alert ${id} is ${a.status}${a.unmatchedReason ? ` (${a.unmatchedReason})` : ''}: only an alert matched to a flow has packets`, 409);
    const flow = a.flows.find((f) => conditional.storeOf(f.interface));
    const store = flow && conditional.storeOf(flow.interface);
    if (!flow || !store) throw new AlertPcapError(`alert ${id}'s flow is on ${a.flows.map((f) => f.interface).join(', ')}, which keep${a.flows.length > 1 ? '' : 's'} no alerted flows (PATCH /api/v1/conditional-pcap)`, 409);
    let started;
    try {
      started = await streamExtraction({ dir: store.dir, query: flowQuery(flow.key) });
    } catch (err) {
      if (err instanceof ExtractionError) throw new BadRequest(err.message);
      throw err;
    }
    const { body, empty } = started;
    const headers: Record<string, string> = { 'content-type': PCAP_TYPE, 'content-disposition': `attachment; filename="alert-${id}.pcap"`, 'cache-control': 'no-store' };
    if (empty?.emptyReason) {
      headers['x-flowbridge-empty-reason'] = empty.emptyReason;
      headers['x-flowbridge-empty-reason-text'] = EMPTY_REASON_TEXT[empty.emptyReason];
    }
    c.set('audit', { written: true });
    const counted = countedBody(body, (bytes) => {
      audit(ctx, c, { action: 'pcap.download', target: `alert ${id}`, interface: flow.interface, parameters: { flow: flow.key }, bytes, result: empty?.emptyReason ? `empty: ${empty.emptyReason}` : 'sent', route: c.req.path });
    });
    return c.body(counted, 200, headers);
  });
  return app;
}
