// REST for on-demand capture (seed 003): an interface's capture status, start and
// stop; the captures directory's files listed, downloaded (packets: the pcap
// permission, audited) and deleted. Who may start, stop, delete and download is the
// route table's (access-rules.ts): the capture and pcap permissions, granted per user.
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { Hono, type Context } from 'hono';
import type { PacketInterface } from '../interfaces/interface.ts';
import { CaptureRequestError } from '../ondemand/capture-request.ts';
import type { OnDemandCaptures } from '../ondemand/ondemand-captures.ts';
import type { ApiContext } from './context.ts';
import { PCAP_TYPE } from './recording-api.ts';

/** Errors of this room as HTTP answers (null: not ours). */
export function captureErrorResponse(err: Error): { status: 400 | 404 | 409; error: string } | null {
  return err instanceof CaptureRequestError ? { status: err.status, error: err.message } : null;
}

/** Request variables: the caller, set by the access check (access.ts); extra fields for the request's audit line (audit-trail.ts). */
interface CaptureVars {
  principal?: { name: string };
  audit?: { interface?: string; bytes?: number; parameters?: unknown };
}
const vars = (c: Context) => c as unknown as { get<K extends keyof CaptureVars>(k: K): CaptureVars[K]; set<K extends keyof CaptureVars>(k: K, v: CaptureVars[K]): void };

/** Who made the request, as the access check found them. */
const caller = (c: Context): string => vars(c).get('principal')?.name ?? 'anonymous';

export function captureApi(ctx: ApiContext, captures: OnDemandCaptures): Hono {
  const app = new Hono();

  const packetInterface = (ref: string): PacketInterface => {
    const iface = ctx.registry.resolve(ref);
    const names = ctx.registry.packetInterfaces().map((p) => `${p.id} ${p.name}`).join(', ') || 'none';
    if (!iface) throw new CaptureRequestError(`no interface ${JSON.stringify(ref)}: use a numeric id or a name of a packet interface (${names})`, 404);
    if (iface.kind !== 'packet') throw new CaptureRequestError(`${iface.name} is a ZMQ interface: only packet interfaces capture (${names})`, 400);
    return iface as PacketInterface;
  };
  const body = async (c: Context): Promise<unknown> => {
    const text = await c.req.text();
    if (text.trim() === '') return {};
    try {
      return JSON.parse(text);
    } catch {
      throw new CaptureRequestError('the body is not valid JSON: send { "filter": "udp port 53", "maxCaptureMB": 1–1000, "deleteFilesOnStart": false }', 400);
    }
  };

  app.get('/interfaces/:id/capture', (c) => c.json(captures.status(packetInterface(c.req.param('id')))));
  app.post('/interfaces/:id/capture/start', async (c) => {
    const iface = packetInterface(c.req.param('id'));
    return c.json(await captures.start(iface, await body(c), caller(c)));
  });
  app.post('/interfaces/:id/capture/stop', async (c) => c.json(await captures.stop(packetInterface(c.req.param('id')))));

  app.get('/captures', (c) => {
    const files = captures.store.list();
    return c.json({ files, count: files.length, bytes: files.reduce((n, f) => n + f.bytes, 0) });
  });
  app.get('/captures/:name', (c) => {
    const name = c.req.param('name');
    const file = captures.store.file(name);
    vars(c).set('audit', { interface: file.origin?.interface ?? undefined, bytes: file.bytes, parameters: { name } });
    const stream = Readable.toWeb(createReadStream(file.path)) as ReadableStream<Uint8Array>;
    return c.body(stream, 200, { 'content-type': PCAP_TYPE, 'content-disposition': `attachment; filename="${name}"`, 'content-length': String(file.bytes), 'cache-control': 'no-store' });
  });
  app.delete('/captures/:name', (c) => {
    captures.store.remove(c.req.param('name'));
    return c.body(null, 204);
  });
  return app;
}
