/** @jsxImportSource hono/jsx */
// Server-rendered pages for operators: interfaces, an interface's settings (the
// "Mirrored Traffic" checkbox and the "Companion Interface" dropdown, as ntopng users
// know them), its flows, and the exporters. Problems are shown, never swallowed.
import { Hono } from 'hono';
import type { Child } from 'hono/jsx';
import { setCookie } from 'hono/cookie';
import { SettingsError } from '../dispatch/companions.ts';
import type { MonitoredInterface, ZmqInterface } from '../interfaces/interface.ts';
import type { FlowRecord } from '../model/flow.ts';
import { TOKEN_COOKIE } from './auth.ts';
import type { ApiContext } from './context.ts';
import { interfaceView } from './interface-view.ts';
import { BadRequest, parseFlowQuery } from './rest.ts';

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2733;background:#f6f8fa}
header{background:#17324d;color:#fff;padding:10px 24px;display:flex;gap:24px;align-items:center}
header a{color:#cfe3ff;text-decoration:none}header strong{font-size:16px;margin-right:12px}
main{padding:18px 24px}h1{font-size:20px;margin:4px 0 14px}
table{border-collapse:collapse;background:#fff;width:100%;box-shadow:0 1px 2px #0001}
th,td{padding:6px 9px;border-bottom:1px solid #e5e9ef;text-align:left;vertical-align:top;white-space:nowrap}
th{background:#eef2f6;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
.problem{background:#fff4e5;border-left:4px solid #e67e22;padding:8px 12px;margin:0 0 12px}
.error{background:#fdecea;border-left:4px solid #c0392b;padding:8px 12px;margin:0 0 12px}
.note{background:#e8f5e9;border-left:4px solid #2e7d32;padding:8px 12px;margin:0 0 12px}
.card{background:#fff;padding:14px 18px;margin:0 0 16px;box-shadow:0 1px 2px #0001;max-width:720px}
.tag{display:inline-block;padding:0 6px;border-radius:3px;background:#e3ecf7;font-size:12px}
.tag.both{background:#d4f0d9}.tag.events{background:#f7ecd3}
form.filters input{width:140px}small{color:#5a6b7d}
`;

function Layout(props: { title: string; children: Child; problems?: string[] }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title>{props.title} · flowbridge</title>
        <style dangerouslySetInnerHTML={{ __html: STYLE }} />
      </head>
      <body>
        <header>
          <strong>flowbridge</strong>
          <a href="/">Interfaces</a>
          <a href="/exporters">Exporters</a>
          <a href="/api/v1/openapi.json">API</a>
          <a href="/metrics">Metrics</a>
        </header>
        <main>
          {(props.problems ?? []).map((p) => <div class="problem">⚠ {p}</div>)}
          {props.children}
        </main>
      </body>
    </html>
  );
}

const fmt = (n: number) => n.toLocaleString('en-US');
const ifaceLink = (i: MonitoredInterface) => `/interfaces/${i.id}`;

function InterfacesPage({ ctx }: { ctx: ApiContext }) {
  return (
    <Layout title="Interfaces" problems={ctx.problems()}>
      <h1>Interfaces</h1>
      <table>
        <thead><tr><th>Id</th><th>Name</th><th>Kind</th><th>State</th><th>Mirrored Traffic</th><th>Companion</th><th>Flows</th><th>Packets / events</th><th></th></tr></thead>
        <tbody>
          {ctx.registry.list().map((i) => {
            const v = interfaceView(ctx, i);
            const traffic = v.capture ? `${fmt(v.capture.packets)} packets` : `${fmt(Object.values(v.collector?.events ?? {}).reduce((a, b) => a + b, 0))} events`;
            return (
              <tr>
                <td>{i.id}</td>
                <td><a href={ifaceLink(i)}>{i.name}</a></td>
                <td>{i.kind === 'zmq' ? 'ZMQ' : 'packet'}</td>
                <td>{v.status.state}{v.status.error ? <div><small>{v.status.error}</small></div> : null}</td>
                <td>{i.kind === 'packet' ? (v.mirrored ? 'yes' : 'no') : '—'}</td>
                <td>{v.companion ?? '—'}</td>
                <td class="num">{fmt(v.flows.active)}</td>
                <td class="num">{traffic}</td>
                <td><a href={`${ifaceLink(i)}/flows`}>flows</a></td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </Layout>
  );
}

function SettingsPage({ ctx, iface, note, error }: { ctx: ApiContext; iface: MonitoredInterface; note?: string; error?: string }) {
  const v = interfaceView(ctx, iface);
  const mirrored = ctx.registry.packetInterfaces().filter((p) => ctx.companions.isMirrored(p));
  return (
    <Layout title={iface.name} problems={v.problems}>
      <h1>{iface.name} <small>({iface.kind === 'zmq' ? 'ZMQ interface' : 'packet interface'}, id {iface.id})</small></h1>
      {note ? <div class="note">{note}</div> : null}
      {error ? <div class="error">{error}</div> : null}
      <div class="card">
        <form method="post" action={`${ifaceLink(iface)}/settings`}>
          {iface.kind === 'packet' ? (
            <p>
              <input type="hidden" name="setting" value="mirrored" />
              <label><input type="checkbox" name="mirrored" id="mirrored" checked={v.mirrored} /> Mirrored Traffic</label>
              <br /><small>This interface receives mirrored traffic (a SPAN/mirror port): ZMQ interfaces may pick it as their companion.</small>
            </p>
          ) : (
            <p>
              <input type="hidden" name="setting" value="companion" />
              <label for="companion">Companion Interface </label>
              <select name="companion" id="companion">
                <option value="" selected={v.companion === null}>None</option>
                {mirrored.map((p) => <option value={p.name} selected={v.companion === p.name}>{p.name}</option>)}
              </select>
              <br /><small>Only interfaces marked "Mirrored Traffic" are listed. Events of this interface are also delivered there, except loopback ones.</small>
            </p>
          )}
          <button type="submit">Save</button>
        </form>
      </div>
      <p><a href={`${ifaceLink(iface)}/flows`}>Flows of {iface.name} →</a></p>
      <pre>{JSON.stringify({ state: v.status, flows: v.flows, dispatch: v.dispatch, capture: v.capture, collector: v.collector }, null, 2)}</pre>
    </Layout>
  );
}

function processText(f: FlowRecord): string {
  const p = f.process;
  if (!p) return '';
  return `${p.path ?? ''} [${p.pid}]`;
}

function FlowRows({ flows }: { flows: FlowRecord[] }) {
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
  return (
    <Layout title={`Flows of ${iface.name}`} problems={interfaceView(ctx, iface).problems}>
      <h1>Flows of <a href={ifaceLink(iface)}>{iface.name}</a></h1>
      {error ? <div class="error">{error}</div> : null}
      <form class="filters" method="get">
        Host <input name="host" value={query.host ?? ''} placeholder="10.0.0.5" /> Port <input name="port" value={query.port ?? ''} placeholder="443" /> Process <input name="process" value={query.process ?? ''} placeholder="curl or PID" />{' '}
        <button type="submit">Filter</button>
      </form>
      <p id="total">{fmt(result.total)} flows{result.total > result.flows.length ? ` (showing ${result.flows.length})` : ''}</p>
      <table>
        <thead><tr><th>Client</th><th>Server</th><th>Proto</th><th>Bytes</th><th>Packets</th><th>Process</th><th>User</th><th>Container</th><th>Last event</th><th>Latency ms</th><th>TCP state</th><th>Seen by</th></tr></thead>
        <FlowRows flows={result.flows} />
      </table>
      <script dangerouslySetInnerHTML={{ __html: LIVE_REFRESH }} />
    </Layout>
  );
}

function ExportersPage({ ctx }: { ctx: ApiContext }) {
  const zmqs = ctx.registry.zmqInterfaces() as ZmqInterface[];
  const stats = zmqs.map((z) => ({ z, s: z.collectorStats() }));
  return (
    <Layout title="Exporters" problems={ctx.problems()}>
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
      <h2>Rejected, by reason</h2>
      <table>
        <thead><tr><th>Interface</th><th>Reason</th><th>Count</th></tr></thead>
        <tbody>{stats.flatMap(({ z, s }) => Object.entries(s.rejected).map(([r, n]) => <tr><td>{z.name}</td><td>{r}</td><td class="num">{fmt(n ?? 0)}</td></tr>))}</tbody>
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
  app.get('/', (c) => c.html(<InterfacesPage ctx={ctx} />));
  app.get('/exporters', (c) => c.html(<ExportersPage ctx={ctx} />));
  app.get('/interfaces/:id', (c) => c.html(<SettingsPage ctx={ctx} iface={find(c.req.param('id'))} note={c.req.query('note')} error={c.req.query('error')} />));
  app.get('/interfaces/:id/flows', (c) => c.html(<FlowsPage ctx={ctx} iface={find(c.req.param('id'))} query={c.req.query()} />));
  app.post('/interfaces/:id/settings', async (c) => {
    const iface = find(c.req.param('id'));
    const form = await c.req.parseBody();
    const back = (kind: 'note' | 'error', text: string) => c.redirect(`${ifaceLink(iface)}?${kind}=${encodeURIComponent(text)}`, 303);
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
  app.get('/login', (c) =>
    c.html(
      <Layout title="Sign in">
        <div class="card"><form method="post" action="/login"><input type="hidden" name="next" value={c.req.query('next') ?? '/'} />API token <input type="password" name="token" /> <button type="submit">Sign in</button></form></div>
      </Layout>,
    ),
  );
  app.post('/login', async (c) => {
    const form = await c.req.parseBody();
    setCookie(c, TOKEN_COOKIE, String(form.token ?? ''), { httpOnly: true, sameSite: 'Strict', path: '/' });
    const next = typeof form.next === 'string' && form.next.startsWith('/') ? form.next : '/';
    return c.redirect(next, 303);
  });
  return app;
}
