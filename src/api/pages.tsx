/** @jsxImportSource hono/jsx */
// Server-rendered pages for operators: interfaces, each interface (interface-page.tsx,
// with the "Mirrored Traffic" checkbox and the "Companion Interface" dropdown, as
// ntopng users know them), its flows, and the exporters. Problems are shown, never swallowed.
import { Hono } from 'hono';
import { SettingsError } from '../dispatch/companions.ts';
import type { MonitoredInterface } from '../interfaces/interface.ts';
import type { FlowRecord } from '../model/flow.ts';
import { sameOriginPath } from './auth.ts';
import { loginPage } from './login-page.tsx';
import type { ApiContext } from './context.ts';
import { ExtractDialog, extractionPages, FlowPcapLinks, records } from './extraction-pages.tsx';
import { flashOf, redirectWith, type FlashKind } from './flash.ts';
import { InterfacePage } from './interface-page.tsx';
import { interfaceView, interfaceViews } from './interface-view.ts';
import { fmt, ifaceLink, Layout } from './layout.tsx';
import { alertsPages } from './alerts-page.tsx';
import { pushPages } from './push-pages.tsx';
import { usersPages } from './users-page.tsx';
import { capturePages } from './capture-pages.tsx';
import { recordingPages } from './recording-pages.tsx';
import { dashboardLink, dashboardPages } from './dashboard-page.tsx';
import { processesPages } from './processes-page.tsx';
import { BadRequest, parseFlowQuery } from './rest.ts';

const problemTexts = (ctx: ApiContext) => ctx.telemetry.problems().map((p) => p.text);

function InterfacesPage({ ctx }: { ctx: ApiContext }) {
  return (
    <Layout title="Interfaces" problems={problemTexts(ctx)} ctx={ctx}>
      <h1>Interfaces</h1>
      <table>
        <thead><tr><th>Id</th><th>Name</th><th>Kind</th><th>State</th><th>Mirrored Traffic</th><th>Companion</th><th>Flows</th><th>Packets / events</th><th></th></tr></thead>
        <tbody>
          {interfaceViews(ctx).map((v) => {
            const traffic = v.capture ? `${fmt(v.capture.packets)} packets` : `${fmt(Object.values(v.collector?.events ?? {}).reduce((a, b) => a + b, 0))} events`;
            return (
              <tr>
                <td>{v.id}</td>
                <td><a href={ifaceLink(v)}>{v.name}</a></td>
                <td>{v.kind === 'zmq' ? 'ZMQ' : 'packet'}</td>
                <td>{v.status.state}{v.status.error ? <div><small>{v.status.error}</small></div> : null}</td>
                <td>{v.kind === 'packet' ? (v.mirrored ? 'yes' : 'no') : '—'}</td>
                <td>{v.companion ?? '—'}</td>
                <td class="num">{fmt(v.flows.active)}</td>
                <td class="num">{traffic}</td>
                <td><a href={`${ifaceLink(v)}/flows`}>flows</a> · <a href={dashboardLink(v)}>dashboard</a></td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </Layout>
  );
}

function processText(f: FlowRecord): string {
  const p = f.process;
  if (!p) return '';
  return `${p.path ?? ''} [${p.pid}]`;
}

/** `recording`: the interface records, so each row links to its packets. */
function FlowRows({ flows, recording }: { flows: FlowRecord[]; recording?: MonitoredInterface }) {
  return (
    <tbody id="flows">
      {flows.map((f) => (
        <tr>
          <td>{f.client.ip}:{f.client.port}</td>
          <td>{f.server.ip}:{f.server.port}</td>
          <td>{f.protocolName}</td>
          <td class="num">{fmt(f.bytes)}</td>
          <td class="num">{fmt(f.packets)}</td>
          <td class="process">{processText(f)}</td>
          <td>{f.process?.user ?? (f.process?.uid !== undefined ? String(f.process.uid) : '')}</td>
          <td>{f.container ? `${f.container.name ?? f.container.id ?? ''}${f.container.pod ? ` (${f.container.namespace}/${f.container.pod})` : ''}` : ''}</td>
          <td>{f.lastEvent ?? ''}</td>
          <td class="num">{f.latencyMs !== undefined ? f.latencyMs.toFixed(3) : ''}</td>
          <td>{f.tcp?.state ?? f.tcp?.flags ?? ''}{f.closed ? ' (closed)' : ''}</td>
          <td>{f.seenBy.map((s) => <span class={`tag ${f.seenBy.length === 2 ? 'both' : s}`}>{s}</span>)}</td>
          {recording ? <FlowPcapLinks iface={recording} flow={f} /> : null}
        </tr>
      ))}
    </tbody>
  );
}

/** Refreshes the rows every 2 s by fetching this same page: one renderer for both. */
const LIVE_REFRESH = `
setInterval(async () => {
  const r = await fetch(location.href, { headers: { accept: 'text/html' } });
  if (!r.ok) return;
  const doc = new DOMParser().parseFromString(await r.text(), 'text/html');
  for (const id of ['flows', 'total']) {
    const fresh = doc.getElementById(id), now = document.getElementById(id);
    if (fresh && now) now.replaceWith(fresh);
  }
}, 2000);`;

function FlowsPage({ ctx, iface, query }: { ctx: ApiContext; iface: MonitoredInterface; query: Record<string, string> }) {
  let error: string | undefined;
  let result = { total: 0, flows: [] as FlowRecord[] };
  try {
    result = iface.flows.query({ ...parseFlowQuery(query), limit: 500 });
  } catch (err) {
    if (!(err instanceof BadRequest)) throw err;
    error = err.message;
  }
  const recording = records(iface) ? iface : undefined;
  return (
    <Layout title={`Flows of ${iface.name}`} problems={interfaceView(ctx, iface).problems} ctx={ctx}>
      <h1>Flows of <a href={ifaceLink(iface)}>{iface.name}</a></h1>
      {error ? <div class="error">{error}</div> : null}
      {recording ? <ExtractDialog iface={recording} /> : null}
      <form class="filters" method="get">
        Host <input name="host" value={query.host ?? ''} placeholder="10.0.0.5" /> Port <input name="port" value={query.port ?? ''} placeholder="443" /> Process <input name="process" value={query.process ?? ''} placeholder="curl or PID" />{' '}
        <button type="submit">Filter</button>
      </form>
      <p id="total">{fmt(result.total)} flows{result.total > result.flows.length ? ` (showing ${result.flows.length})` : ''}</p>
      <table>
        <thead><tr><th>Client</th><th>Server</th><th>Proto</th><th>Bytes</th><th>Packets</th><th>Process</th><th>User</th><th>Container</th><th>Last event</th><th>Latency ms</th><th>TCP state</th><th>Seen by</th>{recording ? <th>Recorded packets</th> : null}</tr></thead>
        <FlowRows flows={result.flows} recording={recording} />
      </table>
      <script dangerouslySetInnerHTML={{ __html: LIVE_REFRESH }} />
    </Layout>
  );
}

function ExportersPage({ ctx }: { ctx: ApiContext }) {
  const stats = ctx.telemetry.interfaces().flatMap((t) => (t.collector ? [{ z: t, s: t.collector }] : []));
  return (
    <Layout title="Exporters" problems={problemTexts(ctx)} ctx={ctx}>
      <h1>Exporters</h1>
      {ctx.curvePublicKey ? <p>CURVE server public key: <code>{ctx.curvePublicKey}</code></p> : null}
      <table>
        <thead><tr><th>Interface</th><th>Source</th><th>Header</th><th>Messages</th><th>Events</th><th>Lost</th><th>Restarts</th><th>Last seen</th></tr></thead>
        <tbody>
          {stats.flatMap(({ z, s }) => s.exporters.map((e) => (
            <tr><td>{z.name}</td><td>{e.sourceId}</td><td>v{e.headerVersion}</td><td class="num">{fmt(e.messages)}</td><td class="num">{fmt(e.events)}</td><td class="num">{fmt(e.lostMessages)}</td><td class="num">{e.restarts}</td><td>{new Date(e.lastSeen).toISOString()}</td></tr>
          )))}
        </tbody>
      </table>
      <h2>Rejected, by topic and reason</h2>
      <table id="rejected">
        <thead><tr><th>Interface</th><th>Topic</th><th>Reason</th><th>Count</th></tr></thead>
        <tbody>{stats.flatMap(({ z, s }) => Object.entries(s.rejectedByTopic).flatMap(([topic, reasons]) => Object.entries(reasons).map(([r, n]) => (
          <tr><td>{z.name}</td><td>{topic === '-' ? '(header unreadable)' : topic}</td><td>{r}</td><td class="num">{fmt(n ?? 0)}</td></tr>
        ))))}</tbody>
      </table>
      <h2>Collector tables</h2>
      <table id="collector-tables">
        <thead><tr><th>Interface</th><th>Table</th><th>Size</th><th>Bound</th><th>Dropped</th></tr></thead>
        <tbody>{stats.flatMap(({ z, s }) => Object.entries({ exporters: s.bounds.exporters, 'learned field ids': s.bounds.learnedFieldIds, 'hand-off batches': s.bounds.handoffBatches }).map(([name, b]) => (
          <tr><td>{z.name}</td><td>{name}</td><td class="num">{fmt(b.size)}</td><td class="num">{fmt(b.max)}</td><td class="num">{fmt(b.dropped)}</td></tr>
        )))}</tbody>
      </table>
      <h2>Recent rejected payloads</h2>
      <table>
        <thead><tr><th>When</th><th>Source</th><th>Topic</th><th>Reason</th><th>Detail</th><th>Excerpt</th></tr></thead>
        <tbody>{stats.flatMap(({ s }) => s.samples).map((x) => <tr><td>{new Date(x.at).toISOString()}</td><td>{x.source}</td><td>{x.topic}</td><td>{x.reason}</td><td>{x.detail}</td><td><code>{x.excerpt.slice(0, 120)}</code></td></tr>)}</tbody>
      </table>
    </Layout>
  );
}

export function pages(ctx: ApiContext): Hono {
  const app = new Hono();
  const find = (ref: string) => {
    const iface = ctx.registry.resolve(ref);
    if (!iface) throw new SettingsError(`no interface ${JSON.stringify(ref)}`, 404);
    return iface;
  };
  app.route('/', recordingPages(ctx, find));
  app.route('/', extractionPages(ctx, find));
  app.route('/', pushPages(ctx));
  app.route('/', alertsPages(ctx));
  app.route('/', usersPages(ctx));
  app.route('/', capturePages(ctx, find));
  app.route('/', dashboardPages(ctx, find));
  app.route('/', processesPages(ctx));
  app.get('/', (c) => c.html(<InterfacesPage ctx={ctx} />));
  app.get('/exporters', (c) => c.html(<ExportersPage ctx={ctx} />));
  app.get('/interfaces/:id', (c) => c.html(<InterfacePage ctx={ctx} iface={find(c.req.param('id'))} {...flashOf(c)} />));
  app.get('/interfaces/:id/flows', (c) => c.html(<FlowsPage ctx={ctx} iface={find(c.req.param('id'))} query={c.req.query()} />));
  app.post('/interfaces/:id/settings', async (c) => {
    const iface = find(c.req.param('id'));
    const form = await c.req.parseBody();
    const back = (kind: FlashKind, text: string) => redirectWith(c, ifaceLink(iface), kind, text);
    try {
      const change = form.setting === 'mirrored'
        ? { mirrored: form.mirrored === 'on' }
        : { companion: typeof form.companion === 'string' && form.companion !== '' ? form.companion : null };
      const { notes } = ctx.companions.change(iface.id, change);
      return back('note', ['Saved.', ...notes].join(' '));
    } catch (err) {
      if (err instanceof SettingsError) return back('error', err.message);
      throw err;
    }
  });
  app.get('/login', (c) => loginPage(c, sameOriginPath(c.req.query('next')), flashOf(c).error));
  // POST /login is served by app.ts (signIn), before these pages.
  return app;
}
