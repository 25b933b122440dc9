// REST for recordings: an interface's recording status and settings, pcap extraction
// streamed as it is read (also under the URLs of ntopng that scripts already use), and
// extraction jobs. Every route that returns packets leaves an audit line.
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { Hono, type Context } from 'hono';
import type { PacketInterface } from '../interfaces/interface.ts';
import { extractionRequest, type ExtractionRequest } from '../recording/extraction-request.ts';
import { JobError } from '../recording/extraction-jobs.ts';
import { streamExtraction } from '../recording/extraction-thread.ts';
import { EMPTY_REASON_TEXT, ExtractionError } from '../recording/reader.ts';
import type { Recordings } from '../recording/recordings.ts';
import { RecordingSettingsError } from '../recording/settings.ts';
import type { ApiContext } from './context.ts';
import { audit as writeAudit } from './audit-trail.ts';
import { countedBody, type AuditEntry } from './packet-access.ts';
import { BadRequest } from './rest.ts';
import { ExtractionOwners } from './per-user-bounds.ts';

export const PCAP_TYPE = 'application/vnd.tcpdump.pcap';

/** Errors of this room as HTTP answers (null: not ours). */
export function recordingErrorResponse(err: Error): { status: 400 | 404 | 409 | 429; error: string } | null {
  if (err instanceof ExtractionError || err instanceof RecordingSettingsError) return { status: 400, error: err.message };
  if (err instanceof JobError) return { status: err.status, error: err.message };
  return null;
}

export function recordingApi(ctx: ApiContext, recordings: Recordings, owners: ExtractionOwners): Hono {
  const app = new Hono();

  const packetInterface = (ref: string | undefined): PacketInterface => {
    const iface = ref === undefined ? undefined : ctx.registry.resolve(ref);
    if (!iface) throw new JobError(`no interface ${JSON.stringify(ref ?? '')}: use a numeric id or a name from GET /api/v1/interfaces`, 404);
    if (iface.kind !== 'packet') {
      throw new BadRequest(`${iface.name} is a ZMQ interface: only packet interfaces record (${ctx.registry.packetInterfaces().map((p) => p.name).join(', ') || 'none'})`);
    }
    return iface as PacketInterface;
  };
  const recording = (ref: string | undefined): PacketInterface => {
    const iface = packetInterface(ref);
    if (!iface.recordingSettings()) {
      throw new BadRequest(`${iface.name} does not record: turn it on with PATCH /api/v1/interfaces/${iface.id}/recording {"enabled": true, "maxDiskSpace": "1GB"} or --record ${iface.name}=1GB`);
    }
    return iface;
  };
  /** A download's audit line, written by the handler (with what was sent), not by the trail. */
  const audit = (c: Context, entry: Omit<AuditEntry, 'user' | 'address' | 'route' | 'action'>) => {
    writeAudit(ctx, c, { action: 'pcap.download', route: c.req.path, ...entry });
  };

  /** A request read from the URL; a refused one is counted. */
  const checked = (input: Record<string, unknown>): ExtractionRequest => {
    try {
      return extractionRequest(input);
    } catch (err) {
      recordings.countStreamed('refused');
      throw err;
    }
  };

  /** Streams an extraction of `r` on `iface` as one pcap. */
  const stream = async (c: Context, iface: PacketInterface, r: ExtractionRequest) => {
    let started;
    try {
      started = await streamExtraction({ dir: iface.recordingSettings()!.dir, query: recordings.query(iface, r) });
    } catch (err) {
      if (err instanceof ExtractionError) recordings.countStreamed('refused');
      throw err;
    }
    const { body, empty } = started;
    const headers: Record<string, string> = {
      'content-type': PCAP_TYPE,
      'content-disposition': `attachment; filename="${r.begin}-${r.end}.pcap"`,
      'cache-control': 'no-store',
    };
    if (empty?.emptyReason) {
      headers['x-flowbridge-empty-reason'] = empty.emptyReason;
      headers['x-flowbridge-empty-reason-text'] = EMPTY_REASON_TEXT[empty.emptyReason];
    }
    const counted = countedBody(body, (bytes) => {
      recordings.countStreamed(empty?.emptyReason ? 'empty' : 'sent', bytes);
      audit(c, { target: iface.name, interface: iface.name, parameters: r, bytes, result: empty?.emptyReason ? `empty: ${empty.emptyReason}` : 'sent' });
    });
    c.set('audit', { written: true });
    return c.body(counted, 200, headers);
  };

  app.get('/api/v1/interfaces/:id/recording', (c) => {
    const iface = packetInterface(c.req.param('id'));
    return c.json({ ...iface.recording(), settings: recordings.request(iface) ?? null, dir: iface.recordingSettings()?.dir ?? null });
  });
  app.patch('/api/v1/interfaces/:id/recording', async (c) => {
    const iface = packetInterface(c.req.param('id'));
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      throw new BadRequest('the body is not valid JSON: send { "enabled"?: boolean, "maxDiskSpace"?: "1GB", "maxFileSize"?: "256MiB", "maxFileSeconds"?: 60, "snaplen"?: 65535 }');
    }
    const settings = await recordings.change(iface, body as Record<string, unknown>);
    return c.json({ ...iface.recording(), settings, dir: iface.recordingSettings()?.dir ?? null });
  });

  app.get('/api/v1/interfaces/:id/pcap', async (c) => stream(c, recording(c.req.param('id')), checked(c.req.query())));

  // ntopng's extraction URLs, as scripts call them: ifid, epoch_begin, epoch_end, bpf_filter.
  const ntopng = async (c: Context) => {
    const q = c.req.query();
    const iface = recording(q.ifid);
    return stream(c, iface, checked({ begin: q.epoch_begin, end: q.epoch_end, bpf: q.bpf_filter }));
  };
  app.get('/lua/rest/v2/get/pcap/live_extraction.lua', ntopng);
  app.get('/lua/live_traffic_extraction.lua', ntopng);

  app.post('/api/v1/extractions', async (c) => {
    let body: Record<string, unknown>;
    try {
      body = (await c.req.json()) as Record<string, unknown>;
    } catch {
      throw new BadRequest('the body is not valid JSON: send { "interface": id, "begin": seconds, "end": seconds, "bpf"?, "host"?, "port"?, "flow"?, "process"?, "user"?, "container"? }');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new BadRequest('the body must be a JSON object');
    const { interface: ref, ...rest } = body;
    if (ref === undefined) throw new BadRequest('interface is required: a numeric id or a name from GET /api/v1/interfaces');
    const iface = recording(String(ref));
    const r = extractionRequest(rest);
    const flows = recordings.flowKeys(iface, r);
    const caller = ExtractionOwners.callerOf(c);
    owners.check(caller, (id) => {
      try {
        const { status } = recordings.jobs.get(id);
        return status === 'queued' || status === 'running';
      } catch {
        return false; // deleted
      }
    });
    const job = recordings.jobs.create(iface.id, r, flows);
    owners.add(job.id, caller);
    return c.json(job, 202);
  });
  app.get('/api/v1/extractions', (c) => c.json({ jobs: recordings.jobs.list(), bounds: recordings.jobs.bounds }));
  app.get('/api/v1/extractions/:id', (c) => c.json(recordings.jobs.get(c.req.param('id'))));
  app.post('/api/v1/extractions/:id/stop', async (c) => c.json(await recordings.jobs.stop(c.req.param('id'))));
  app.delete('/api/v1/extractions/:id', async (c) => {
    await recordings.jobs.delete(c.req.param('id'));
    return c.body(null, 204);
  });
  app.get('/api/v1/extractions/:id/files/:fileId', (c) => {
    const id = c.req.param('id');
    const file = recordings.jobs.file(id, c.req.param('fileId'));
    audit(c, { target: `extraction ${id}/${file.name}`, interface: String(recordings.jobs.get(id).interface), parameters: { job: id, file: file.name }, bytes: file.bytes, result: 'sent' });
    c.set('audit', { written: true });
    const body = Readable.toWeb(createReadStream(file.path)) as ReadableStream<Uint8Array>;
    return c.body(body, 200, { 'content-type': PCAP_TYPE, 'content-disposition': `attachment; filename="${file.name}"`, 'content-length': String(file.bytes) });
  });
  return app;
}
