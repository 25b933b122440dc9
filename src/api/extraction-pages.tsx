/** @jsxImportSource hono/jsx */
// Getting packets back from the pages: the "Extract pcap" dialog of a recording
// interface's flows page (a window, defaulting to the last 5 minutes, and a BPF filter;
// "Download now" streams GET /api/v1/interfaces/:id/pcap, "Queue as a job" posts
// /api/v1/extractions), the pcap links of each flow row, and the jobs page
// (/extractions) with Stop, Delete and the download of each file. The REST API does
// the work; these pages only build its requests.
import { Hono } from 'hono';
import type { MonitoredInterface, PacketInterface } from '../interfaces/interface.ts';
import type { FlowRecord } from '../model/flow.ts';
import { JobError, type ExtractionJobView } from '../recording/extraction-jobs.ts';
import { extractionRequest } from '../recording/extraction-request.ts';
import { EMPTY_REASON_TEXT, ExtractionError } from '../recording/reader.ts';
import { refusal } from '../access/permission.ts';
import type { ApiContext } from './context.ts';
import { flashOf, redirectWith, type FlashKind } from './flash.ts';
import { bytesText, fmt, ifaceLink, Layout, refreshScript, timeText } from './layout.tsx';
import { BadRequest } from './rest.ts';

/** The interface records now (its flows page offers extraction). */
export const records = (iface: MonitoredInterface): iface is PacketInterface =>
  iface.kind === 'packet' && (iface as PacketInterface).recordingSettings() !== undefined;

const pcapUrl = (iface: MonitoredInterface, q: Record<string, string>) => `/api/v1/interfaces/${iface.id}/pcap?${new URLSearchParams(q)}`;
const seconds = (ms: number) => (ms / 1000).toFixed(3);

/** A flow row's downloads: its own packets (its key, firstSeen-1 s to lastSeen+1 s), and those of its process. */
export function FlowPcapLinks({ iface, flow }: { iface: MonitoredInterface; flow: FlowRecord }) {
  const window = { begin: seconds(flow.firstSeen - 1000), end: seconds(flow.lastSeen + 1000) };
  const p = flow.process;
  // The process's packets: the last 5 minutes, and back to this flow's start if it is older.
  const processWindow = { begin: seconds(Math.min(flow.firstSeen, Date.now() - 300_000) - 1000), end: seconds(Math.max(flow.lastSeen, Date.now()) + 1000) };
  return (
    <td class="pcap">
      <a class="flow-pcap" href={pcapUrl(iface, { ...window, flow: flow.key })} download="" title="Download the packets of this flow (pcap)">pcap</a>
      {p?.pid !== undefined ? (
        <> · <a class="process-pcap" href={pcapUrl(iface, { ...processWindow, process: String(p.pid) })} download="" title={`Download the packets of this process (${p.path ?? ''} [${p.pid}]) from the last 5 minutes`}>packets of this process</a></>
      ) : null}
    </td>
  );
}

/**
 * The dialog's behaviour: datetime-local values (the browser's time zone) become epoch
 * seconds; untouched fields mean "the last 5 minutes" at the moment of the click. No
 * value from the server or the user is ever written as HTML.
 */
const EXTRACT_SCRIPT = `
(() => {
  const dialog = document.getElementById('extract');
  const form = document.getElementById('extract-form');
  const out = document.getElementById('extract-result');
  const id = dialog.dataset.interface;
  const pad = (n) => String(n).padStart(2, '0');
  const local = (ms) => { const d = new Date(ms); return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + 'T' + pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()); };
  let edited = false;
  const lastFiveMinutes = () => {
    const end = (Math.floor(Date.now() / 1000) + 1) * 1000;
    form.begin.value = local(end - 300000);
    form.end.value = local(end);
  };
  form.begin.addEventListener('input', () => { edited = true; });
  form.end.addEventListener('input', () => { edited = true; });
  document.getElementById('extract-open').addEventListener('click', () => { if (!edited) lastFiveMinutes(); out.replaceChildren(); dialog.showModal(); });
  document.getElementById('extract-close').addEventListener('click', () => dialog.close());
  const say = (kind, text, link) => {
    out.className = kind;
    out.replaceChildren(document.createTextNode(text));
    if (link) { const a = document.createElement('a'); a.href = link.href; a.textContent = link.text; out.append(' ', a); }
  };
  const request = () => {
    if (!edited) lastFiveMinutes();
    const begin = Date.parse(form.begin.value), end = Date.parse(form.end.value);
    if (Number.isNaN(begin) || Number.isNaN(end)) { say('error', 'Give both the start and the end of the window.'); return null; }
    const q = { begin: String(begin / 1000), end: String(end / 1000) };
    const bpf = form.bpf.value.trim();
    if (bpf) q.bpf = bpf;
    return q;
  };
  const errorOf = async (r) => { try { return (await r.json()).error || r.statusText; } catch { return r.status + ' ' + r.statusText; } };
  document.getElementById('extract-download').addEventListener('click', async () => {
    const q = request();
    if (!q) return;
    const params = new URLSearchParams(q);
    const check = await fetch('/interfaces/' + id + '/extraction-check?' + params);
    if (!check.ok) { say('error', await errorOf(check)); return; }
    const a = document.createElement('a');
    a.href = '/api/v1/interfaces/' + id + '/pcap?' + params;
    a.download = '';
    document.body.append(a);
    a.click();
    a.remove();
    say('note', 'Downloading ' + form.begin.value.replace('T', ' ') + ' to ' + form.end.value.replace('T', ' ') + (q.bpf ? ' (' + q.bpf + ')' : '') + '.');
  });
  document.getElementById('extract-queue').addEventListener('click', async () => {
    const q = request();
    if (!q) return;
    const r = await fetch('/api/v1/extractions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ interface: Number(id), ...q }) });
    if (!r.ok) { say('error', await errorOf(r)); return; }
    const job = await r.json();
    say('note', 'Queued as extraction job ' + job.id + '.', { href: '/extractions', text: 'See the jobs page' });
  });
})();`;

/** The "Extract pcap" button and its dialog (flows page of a recording interface). */
export function ExtractDialog({ iface }: { iface: PacketInterface }) {
  return (
    <>
      <p><button type="button" id="extract-open">Extract pcap…</button> <small>packets of a time window, recorded on {iface.name}</small></p>
      <dialog id="extract" data-interface={String(iface.id)} aria-labelledby="extract-title">
        <form id="extract-form" method="dialog">
          <h2 id="extract-title">Extract pcap from {iface.name}</h2>
          <p>
            <label for="extract-begin">From</label> <input type="datetime-local" step="1" name="begin" id="extract-begin" />{' '}
            <label for="extract-end">to</label> <input type="datetime-local" step="1" name="end" id="extract-end" />
            <br /><small>Your browser's time zone. Left as they are: the last 5 minutes.</small>
          </p>
          <details>
            <summary>Advanced</summary>
            <p><label for="extract-bpf">BPF filter</label> <input type="text" name="bpf" id="extract-bpf" placeholder="udp and port 53" size={40} /></p>
          </details>
          <p>
            <button type="button" id="extract-download">Download now</button>{' '}
            <button type="button" id="extract-queue">Queue as a job</button>{' '}
            <button type="button" id="extract-close">Close</button>
          </p>
          <div id="extract-result" role="status"></div>
        </form>
      </dialog>
      <script dangerouslySetInnerHTML={{ __html: EXTRACT_SCRIPT }} />
    </>
  );
}

function requestText(r: ExtractionJobView['request'], flows: string[] | undefined): string {
  const parts = Object.entries(r).filter(([k]) => k !== 'begin' && k !== 'end').map(([k, v]) => `${k} ${v}`);
  if (flows) parts.push(`${flows.length} flow${flows.length === 1 ? '' : 's'}`);
  return parts.join(', ') || 'everything';
}

function statusText(j: ExtractionJobView): string {
  if (j.status === 'failed') return `failed: ${j.error ?? 'no reason given'}`;
  if (j.status === 'completed' && j.emptyReason) return `completed, empty: ${EMPTY_REASON_TEXT[j.emptyReason]}`;
  if (j.status === 'completed' && j.limitReached) return 'completed, cut at the bound on a job\'s size';
  return j.status;
}

const epochText = (s: string) => timeText(Number(s) * 1000);

function JobRow({ ctx, j }: { ctx: ApiContext; j: ExtractionJobView }) {
  const iface = ctx.registry.resolve(j.interface);
  const active = j.status === 'queued' || j.status === 'running';
  return (
    <tr id={`job-${j.id}`}>
      <td>{j.id}</td>
      <td class={`state ${j.status}`}>{statusText(j)}</td>
      <td>{iface ? <a href={ifaceLink(iface)}>{iface.name}</a> : String(j.interface)}</td>
      <td>{epochText(j.request.begin)} – {epochText(j.request.end)}</td>
      <td>{requestText(j.request, j.flows)}</td>
      <td class="num">{j.packets === undefined ? '—' : fmt(j.packets)}</td>
      <td class="num">{bytesText(j.bytes)}</td>
      <td>
        {active ? <form method="post" action={`/extractions/${encodeURIComponent(j.id)}/stop`} style="display:inline"><button type="submit">Stop</button></form> : null}{' '}
        <form method="post" action={`/extractions/${encodeURIComponent(j.id)}/delete`} style="display:inline"><button type="submit">Delete</button></form>
      </td>
      <td>{j.files.map((f) => <div><a href={`/api/v1/extractions/${encodeURIComponent(j.id)}/files/${encodeURIComponent(f.id)}`} download="">Download {f.name}</a> <small>({bytesText(f.bytes)})</small></div>)}</td>
    </tr>
  );
}

function JobsPage({ ctx, note, error }: { ctx: ApiContext; note?: string; error?: string }) {
  const jobs = ctx.recordings?.jobs.list() ?? [];
  const bounds = ctx.recordings?.jobs.bounds;
  return (
    <Layout title="Extraction jobs" problems={ctx.telemetry.problems().map((p) => p.text)} ctx={ctx}>
      <h1>Extraction jobs</h1>
      {note ? <div class="note">{note}</div> : null}
      {error ? <div class="error">{error}</div> : null}
      {bounds ? <p><small>{fmt(bounds.jobs)} of at most {fmt(bounds.maxJobs)} jobs; {bounds.running} of {bounds.maxConcurrent} running at a time; each at most {bytesText(bounds.maxResultBytes)}. Queue one from the flows page of a recording interface.</small></p> : <p>Recording is not available in this collector.</p>}
      <table>
        <thead><tr><th>Job</th><th>Status</th><th>Interface</th><th>Window</th><th>Filter</th><th>Packets</th><th>Bytes</th><th></th><th>Files</th></tr></thead>
        <tbody id="jobs">
          {jobs.length ? [...jobs].reverse().map((j) => <JobRow ctx={ctx} j={j} />) : <tr><td colspan={9}><small>No extraction jobs.</small></td></tr>}
        </tbody>
      </table>
      <script dangerouslySetInnerHTML={{ __html: refreshScript(['jobs'], 2000) }} />
    </Layout>
  );
}

/** The jobs page, its Stop and Delete forms, and the dialog's check before a download. */
export function extractionPages(ctx: ApiContext, find: (ref: string) => MonitoredInterface): Hono {
  const app = new Hono();
  app.get('/extractions', (c) => c.html(<JobsPage ctx={ctx} {...flashOf(c)} />));
  const action = (verb: 'stop' | 'delete') => app.post(`/extractions/:id/${verb}`, async (c) => {
    const id = c.req.param('id');
    const back = (kind: FlashKind, text: string) => redirectWith(c, '/extractions', kind, text);
    if (!ctx.recordings) return back('error', 'recording is not available in this collector');
    try {
      if (verb === 'stop') await ctx.recordings.jobs.stop(id);
      else await ctx.recordings.jobs.delete(id);
      return back('note', `Extraction job ${id} ${verb === 'stop' ? 'stopped' : 'deleted'}.`);
    } catch (err) {
      if (err instanceof JobError) return back('error', err.message);
      throw err;
    }
  });
  action('stop');
  action('delete');
  // Before "Download now" navigates to the pcap: the same checks the API makes, so a
  // refusal is shown in the dialog instead of replacing the page with JSON.
  app.get('/interfaces/:id/extraction-check', (c) => {
    const iface = find(c.req.param('id'));
    try {
      if (!ctx.recordings || !records(iface)) throw new BadRequest(`${iface.name} does not record: turn recording on on its page first`);
      // Packets need the pcap permission (no users: the token, when one is set): say so here rather than download a refusal.
      const principal = c.get('principal');
      if (!principal.permissions.includes('pcap')) {
        if (principal.kind === 'anonymous') throw new BadRequest('packets need the API token: sign in at /login first');
        throw new BadRequest(refusal(principal, { permission: 'pcap' })!.reason);
      }
      ctx.recordings.flowKeys(iface, extractionRequest(c.req.query()));
      return c.json({ ok: true });
    } catch (err) {
      if (err instanceof ExtractionError || err instanceof BadRequest) return c.json({ error: err.message }, 400);
      throw err;
    }
  });
  return app;
}
