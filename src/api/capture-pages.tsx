/** @jsxImportSource hono/jsx */
// On-demand capture as a person uses it (seed 003, Trustgrid's "Interface tools →
// Traffic capture"): on a packet interface's page, the Traffic capture dialog (Status,
// Interface, Filter, Max Capture Size (MB), Delete Files On Start, Start/Stop), applied
// through the same checks as POST /api/v1/interfaces/:id/capture/start, so a refusal
// reads the same (libpcap's words for a bad filter) and starts nothing; and the
// Captures page (/captures) listing the captures directory with Download (the pcap
// permission, audited) and Delete (the capture permission). Without the capture
// permission the dialog is shown disabled, with the reason.
import { Hono, type Context } from 'hono';
import { tryGetContext } from 'hono/context-storage';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { refusal } from '../access/permission.ts';
import type { MonitoredInterface, PacketInterface } from '../interfaces/interface.ts';
import type { Permission, Principal } from '../model/access.ts';
import { CaptureRequestError, MAX_CAPTURE_MB } from '../ondemand/capture-request.ts';
import type { OnDemandCaptures } from '../ondemand/ondemand-captures.ts';
import type { ApiContext } from './context.ts';
import { flashOf, redirectWith, type FlashKind } from './flash.ts';
import { bytesText, fmt, ifaceLink, Layout } from './layout.tsx';
import { PCAP_TYPE } from './recording-api.ts';

/** The query that opens the dialog on an interface's page. */
export const CAPTURE_TOOL = 'traffic-capture';
const toolLink = (i: { id: number }) => `${ifaceLink(i)}?tool=${CAPTURE_TOOL}`;
const dash = '—';
const isoText = (iso: string | null) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC') : dash);

const principal = (): Principal | undefined => tryGetContext()?.get('principal') as Principal | undefined;
/** Why the signed-in principal may not use `perm` (the access check's own words), or null. */
const lacks = (perm: Permission): string | null => {
  const p = principal();
  return p ? refusal(p, { permission: perm })?.reason ?? null : null;
};

/** What was typed into a refused start, kept a minute under a random id so the dialog shows it again. */
interface Draft {
  filter: string;
  maxCaptureMB: string;
  deleteFilesOnStart: boolean;
}
const drafts = new Map<string, Draft & { at: number }>();
const DRAFT_TTL_MS = 60_000;
function keepDraft(d: Draft): string {
  const id = randomBytes(8).toString('hex');
  drafts.set(id, { ...d, at: Date.now() });
  for (const key of drafts.keys()) {
    if (drafts.size <= 64) break;
    drafts.delete(key);
  }
  return id;
}
function draftOf(id: string | undefined): Draft | undefined {
  const d = id === undefined ? undefined : drafts.get(id);
  if (!d) return undefined;
  drafts.delete(id!);
  return Date.now() - d.at > DRAFT_TTL_MS ? undefined : d;
}

const STYLE = `
#interface-tools form{display:inline}
dialog#traffic-capture{position:static;display:block;margin:8px 0 16px;border:1px solid #c9d3de;box-shadow:0 2px 6px #0002;max-width:640px;padding:14px 18px}
dialog#traffic-capture h3{margin:0 0 10px;font-size:16px}dialog#traffic-capture fieldset{border:0;padding:0;margin:0}
dialog#traffic-capture label.field{display:inline-block;min-width:190px}dialog#traffic-capture input[name=filter]{width:320px}
dialog#traffic-capture .buttons{display:flex;gap:10px;align-items:center}dialog#traffic-capture .close{margin-left:auto}
.reason{background:#fff4e5;border-left:4px solid #e67e22;padding:6px 10px;margin:0 0 10px}
`;

/** Keeps the dialog's status current while it is open (the same page, fetched again). */
const STATUS_REFRESH = `
(() => {
  const select = document.getElementById('capture-interface');
  if (select) select.addEventListener('change', () => { location.href = '/interfaces/' + encodeURIComponent(select.value) + '?tool=${CAPTURE_TOOL}'; });
  setInterval(async () => {
    const r = await fetch(location.pathname + '?tool=${CAPTURE_TOOL}', { headers: { accept: 'text/html' } });
    if (!r.ok) return;
    const fresh = new DOMParser().parseFromString(await r.text(), 'text/html').getElementById('capture-status');
    const now = document.getElementById('capture-status');
    if (fresh && now) now.replaceWith(fresh);
  }, 2000);
})();`;

function CaptureStatus({ captures, iface }: { captures: OnDemandCaptures; iface: PacketInterface }) {
  const s = captures.status(iface);
  const running = s.status === 'Running';
  return (
    <div id="capture-status">
      <p><label class="field">Status</label> <span id="capture-state" class={`state ${running ? 'running' : 'stopped'}`}>{s.status}</span></p>
      {s.startedAt ? (
        <p><small>
          {running ? 'Running since' : 'Last run'} {isoText(s.startedAt)}{s.stoppedAt ? ` to ${isoText(s.stoppedAt)}` : ''}, started by {s.startedBy ?? dash}
          {s.filter ? <>, filter <code>{s.filter}</code></> : ', every packet'}: {fmt(s.packets)} packets written ({bytesText(s.bytes)}), {fmt(s.filteredOut)} left out by the filter
          {s.overwritten ? `, ${fmt(s.overwritten)} pieces overwritten` : ''}.{' '}
          {!running && s.files.length ? <a href="/captures">{s.files.length === 1 ? 'Its file' : `Its ${s.files.length} files`} on the Captures page</a> : null}
        </small></p>
      ) : null}
      {s.error ? <div class="error">{s.error}</div> : null}
    </div>
  );
}

/** The Traffic capture dialog of a packet interface, open when the page was asked for it (?tool=traffic-capture). */
function TrafficCaptureDialog({ ctx, captures, iface }: { ctx: ApiContext; captures: OnDemandCaptures; iface: PacketInterface }) {
  const c = tryGetContext();
  const draft = draftOf(c?.req.query('draft'));
  const s = captures.status(iface);
  const running = s.status === 'Running';
  const refused = lacks('capture');
  const packets = ctx.registry.packetInterfaces();
  return (
    <dialog id="traffic-capture" open aria-labelledby="traffic-capture-title">
      <h3 id="traffic-capture-title">Traffic capture</h3>
      {refused ? <p class="reason" id="capture-refused">Starting and stopping a capture is disabled: {refused}.</p> : null}
      <CaptureStatus captures={captures} iface={iface} />
      <form method="post" action={`${ifaceLink(iface)}/capture/start`} id="capture-start">
        <fieldset disabled={refused !== null}>
          <p>
            <label class="field" for="capture-interface">Interface</label>{' '}
            <select name="interface" id="capture-interface">
              {packets.map((p) => <option value={String(p.id)} selected={p.id === iface.id}>{p.name}</option>)}
            </select>
          </p>
          <p>
            <label class="field" for="capture-filter">Filter</label>{' '}
            <input type="text" name="filter" id="capture-filter" value={draft?.filter ?? s.filter} placeholder="udp port 53 (tcpdump syntax; empty: every packet)" />
          </p>
          <p>
            <label class="field" for="capture-max">Max Capture Size (MB)</label>{' '}
            <input type="number" name="maxCaptureMB" id="capture-max" min="1" max={String(MAX_CAPTURE_MB)} step="1" value={draft?.maxCaptureMB ?? String(s.maxCaptureMB)} />{' '}
            <small>1–{MAX_CAPTURE_MB}; past 10 MB, 10 MB files, the oldest overwritten</small>
          </p>
          <p>
            <label class="field" for="capture-delete">Delete Files On Start</label>{' '}
            <input type="checkbox" name="deleteFilesOnStart" id="capture-delete" checked={draft?.deleteFilesOnStart ?? false} />{' '}
            <small>removes every file of the Captures page first</small>
          </p>
          <p class="buttons">
            <button type="submit" id="capture-start-button" disabled={running}>Start</button>
            <button type="submit" form="capture-stop" id="capture-stop-button" disabled={!running}>Stop</button>
            <a class="close" href={ifaceLink(iface)}>Close</a>
          </p>
        </fieldset>
      </form>
      <form method="post" action={`${ifaceLink(iface)}/capture/stop`} id="capture-stop"></form>
      <p><small>The capture goes on with this dialog closed. Once stopped, its files are on the <a href="/captures">Captures page</a>.</small></p>
      <script dangerouslySetInnerHTML={{ __html: STATUS_REFRESH }} />
    </dialog>
  );
}

/** "Interface tools" on a packet interface's page: the Traffic capture button, and its dialog when asked for. */
export function InterfaceTools({ ctx, iface }: { ctx: ApiContext; iface: MonitoredInterface }) {
  if (iface.kind !== 'packet' || !ctx.captures) return null;
  const p = iface as PacketInterface;
  const open = tryGetContext()?.req.query('tool') === CAPTURE_TOOL;
  const running = ctx.captures.status(p).status === 'Running';
  return (
    <section id="interface-tools">
      <style dangerouslySetInnerHTML={{ __html: STYLE }} />
      <h2>Interface tools</h2>
      <form method="get" action={ifaceLink(iface)}>
        <input type="hidden" name="tool" value={CAPTURE_TOOL} />
        <button type="submit" id="traffic-capture-button">Traffic capture</button>
      </form>{' '}
      <small>{running ? 'A capture is running on this interface.' : 'Capture this interface\'s traffic to pcap files.'}</small>
      {open ? <TrafficCaptureDialog ctx={ctx} captures={ctx.captures} iface={p} /> : null}
    </section>
  );
}

function CapturesPage({ ctx, captures, note, error }: { ctx: ApiContext; captures: OnDemandCaptures; note?: string; error?: string }) {
  const files = captures.store.list();
  const download = lacks('pcap') === null;
  const remove = lacks('capture') === null;
  const running = ctx.registry.packetInterfaces().map((p) => ({ p, s: captures.status(p) })).filter(({ s }) => s.status === 'Running');
  const ifaceOf = (name: string | null) => (name === null ? undefined : ctx.registry.resolve(name));
  return (
    <Layout title="Captures" problems={ctx.telemetry.problems().map((p) => p.text)} ctx={ctx}>
      <h1>Captures</h1>
      {note ? <div class="note">{note}</div> : null}
      {error ? <div class="error">{error}</div> : null}
      <p id="running-captures">
        {running.length
          ? running.map(({ p, s }, i) => <>{i ? '; ' : ''}Running on <a href={toolLink(p)}>{p.name}</a>, started by {s.startedBy ?? dash} at {isoText(s.startedAt)}: stop it to see its files here.</>)
          : <>No capture is running. Start one from a packet interface's page (Interface tools → Traffic capture).</>}
      </p>
      {download ? null : <p id="download-refused"><small>Downloading is disabled: {lacks('pcap')}.</small></p>}
      <table id="captures">
        <thead><tr><th>Name</th><th>Bytes</th><th>Interface</th><th>Started by</th><th>Created</th><th></th></tr></thead>
        <tbody>
          {files.length ? files.map((f) => {
            const i = ifaceOf(f.interface);
            return (
              <tr data-file={f.name}>
                <td class="name">{f.name}</td>
                <td class="num bytes">{fmt(f.bytes)}</td>
                <td class="interface">{i ? <a href={ifaceLink(i)}>{f.interface}</a> : f.interface ?? dash}</td>
                <td class="started-by">{f.startedBy ?? dash}</td>
                <td class="created">{isoText(f.createdAt)}</td>
                <td>
                  {download ? <a href={`/captures/${encodeURIComponent(f.name)}/download`} download={f.name}>Download</a> : null}{' '}
                  {remove ? (
                    <form method="post" action={`/captures/${encodeURIComponent(f.name)}/delete`} style="display:inline" onsubmit={`return confirm(${JSON.stringify(`Delete ${f.name}?`)})`}>
                      <button type="submit">Delete</button>
                    </form>
                  ) : null}
                </td>
              </tr>
            );
          }) : <tr><td colspan={6}>No capture files.</td></tr>}
        </tbody>
      </table>
      <p><small>{fmt(files.length)} file{files.length === 1 ? '' : 's'}, {bytesText(files.reduce((n, f) => n + f.bytes, 0))} in {captures.store.dir}.</small></p>
    </Layout>
  );
}

function Unavailable({ ctx }: { ctx: ApiContext }) {
  return (
    <Layout title="Captures" problems={ctx.telemetry.problems().map((p) => p.text)} ctx={ctx}>
      <h1>Captures</h1>
      <p>On-demand capture is not available in this collector.</p>
    </Layout>
  );
}

const text = (v: unknown) => (typeof v === 'string' ? v : '');

/** /captures, a file's download and delete, and the dialog's Start and Stop. */
export function capturePages(ctx: ApiContext, find: (ref: string) => MonitoredInterface): Hono {
  const app = new Hono();
  const captures = ctx.captures;
  if (!captures) {
    app.get('/captures', (c) => c.html(<Unavailable ctx={ctx} />));
    return app;
  }
  const caller = (c: Context) => c.get('principal')?.name ?? 'anonymous';
  /** A refusal's audit line says so (the page itself answers with a redirect). */
  const refused = (c: Context, err: Error) => c.set('audit', { result: `refused: ${err.message}` });
  /** Back to the interface's dialog with what happened. */
  const back = (c: Context, iface: { id: number }, kind: FlashKind, message: string, draft?: Draft) =>
    redirectWith(c, `${toolLink(iface)}${draft ? `&draft=${keepDraft(draft)}` : ''}`, kind, message, `#${CAPTURE_TOOL}`);

  app.get('/captures', (c) => c.html(<CapturesPage ctx={ctx} captures={captures} {...flashOf(c)} />));
  app.get('/captures/:name/download', (c) => {
    const name = c.req.param('name');
    const file = captures.store.file(name);
    c.set('audit', { interface: file.origin?.interface ?? undefined, bytes: file.bytes, parameters: { name } });
    const stream = Readable.toWeb(createReadStream(file.path)) as ReadableStream<Uint8Array>;
    return c.body(stream, 200, { 'content-type': PCAP_TYPE, 'content-disposition': `attachment; filename="${name}"`, 'content-length': String(file.bytes), 'cache-control': 'no-store' });
  });
  app.post('/captures/:name/delete', (c) => {
    const name = c.req.param('name');
    try {
      captures.store.remove(name);
      return redirectWith(c, '/captures', 'note', `Deleted ${name}.`);
    } catch (err) {
      if (err instanceof CaptureRequestError) {
        refused(c, err);
        return redirectWith(c, '/captures', 'error', err.message);
      }
      throw err;
    }
  });
  app.post('/interfaces/:id/capture/start', async (c) => {
    const page = find(c.req.param('id'));
    const form = await c.req.parseBody();
    const chosen = text(form.interface) ? ctx.registry.resolve(text(form.interface)) : page;
    const draft: Draft = { filter: text(form.filter), maxCaptureMB: text(form.maxCaptureMB), deleteFilesOnStart: form.deleteFilesOnStart === 'on' };
    const wrong = !chosen ? `no interface ${JSON.stringify(text(form.interface))}: nothing was started` : chosen.kind !== 'packet' ? `${chosen.name} is a ZMQ interface: only packet interfaces capture` : undefined;
    if (!chosen || wrong) {
      refused(c, new Error(wrong));
      return back(c, page, 'error', wrong!, draft);
    }
    const max = draft.maxCaptureMB.trim();
    const body = { filter: draft.filter, maxCaptureMB: max === '' ? undefined : /^\d{1,15}$/.test(max) ? Number(max) : max, deleteFilesOnStart: draft.deleteFilesOnStart };
    try {
      const s = await captures.start(chosen as PacketInterface, body, caller(c));
      return back(c, chosen, 'note', `Traffic capture started on ${chosen.name}${s.filter ? ` (filter ${s.filter})` : ' (every packet)'}, at most ${s.maxCaptureMB} MB. It goes on with this dialog closed.`);
    } catch (err) {
      if (err instanceof CaptureRequestError) {
        refused(c, err);
        return back(c, chosen, 'error', err.message, draft);
      }
      throw err;
    }
  });
  app.post('/interfaces/:id/capture/stop', async (c) => {
    const iface = find(c.req.param('id'));
    if (iface.kind !== 'packet') {
      const why = `${iface.name} is a ZMQ interface: only packet interfaces capture`;
      refused(c, new Error(why));
      return back(c, iface, 'error', why);
    }
    try {
      const s = await captures.stop(iface as PacketInterface);
      const files = s.files.length ? `${s.files.join(', ')} (${bytesText(s.bytes)}) on the Captures page` : 'no packets were written, so there is no file';
      return back(c, iface, 'note', `Traffic capture stopped on ${iface.name}: ${fmt(s.packets)} packets, ${files}.`);
    } catch (err) {
      if (err instanceof CaptureRequestError) {
        refused(c, err);
        return back(c, iface, 'error', err.message);
      }
      throw err;
    }
  });
  return app;
}
