/** @jsxImportSource hono/jsx */
// The Processes page (the top processes across interfaces, sortable, filtered by
// interface, host, user and container) and a page per process: its traffic over time,
// its servers and its flows. Tables work without JavaScript; with it they refresh.
import { Hono } from 'hono';
import type { ProcessList, ProcessSort, ProcessSummary } from '../views/process-summary.ts';
import { SettingsError } from '../dispatch/companions.ts';
import type { ApiContext } from './context.ts';
import { processLink } from './dashboard-page.tsx';
import { fmt, ifaceLink, Layout, refreshScript, timeText } from './layout.tsx';
import { chartScript, LineChart } from './line-chart.tsx';
import { parseProcessQuery, timeseriesOf } from './processes-api.ts';
import { BadRequest } from './rest.ts';

const problemTexts = (ctx: ApiContext) => ctx.telemetry.problems().map((p) => p.text);
const STYLE = `.chart{margin:0 0 16px;background:#fff;padding:8px 12px;box-shadow:0 1px 2px #0001;display:inline-block}.chart figcaption{font-weight:600;margin-bottom:4px}th a{color:inherit}`;

/** Refreshes `ids` from this same URL (query included, so filters and sort stay). */
const refreshSameUrl = (ids: string[]) => refreshScript(ids, 2000).replace('fetch(location.pathname', 'fetch(location.href');

const container = (p: ProcessSummary) => (p.container ? p.container.name ?? p.container.pod ?? p.container.id?.slice(0, 12) ?? '' : '');
const user = (p: ProcessSummary) => p.user ?? (p.uid !== undefined ? String(p.uid) : '');

function ProcessesPage({ ctx, query }: { ctx: ApiContext; query: Record<string, string> }) {
  let error: string | undefined;
  let list: ProcessList | undefined;
  try {
    list = ctx.telemetry.processes?.(parseProcessQuery(ctx, query));
  } catch (err) {
    if (!(err instanceof BadRequest)) throw err;
    error = err.message;
  }
  const sortLink = (sort: ProcessSort) => `/processes?${new URLSearchParams({ ...query, sort })}`;
  const Th = ({ sort, label }: { sort: ProcessSort; label: string }) => <th><a href={sortLink(sort)}>{label}{(query.sort ?? 'bytes') === sort ? ' ▾' : ''}</a></th>;
  return (
    <Layout title="Processes" problems={problemTexts(ctx)} ctx={ctx}>
      <style dangerouslySetInnerHTML={{ __html: STYLE }} />
      <h1>Processes</h1>
      {error ? <div class="error">{error}</div> : null}
      <form class="filters" method="get">
        Interface <select name="interface"><option value="">all</option>{ctx.registry.list().map((i) => <option value={String(i.id)} selected={query.interface === String(i.id)}>{i.name}</option>)}</select>{' '}
        Host <input name="host" value={query.host ?? ''} placeholder="10.0.0.5" /> User <input name="user" value={query.user ?? ''} placeholder="alice or 1000" /> Container <input name="container" value={query.container ?? ''} placeholder="id, name or pod" />
        {query.sort ? <input type="hidden" name="sort" value={query.sort} /> : null}{' '}
        <button type="submit">Filter</button>
      </form>
      <p id="process-total">{list ? `${fmt(list.total)} processes${list.total > list.processes.length ? ` (the top ${list.processes.length}; the rest summed as other)` : ''}` : ''}</p>
      <table>
        <thead><tr><th>Process</th><th>PIDs</th><th>Host</th><th>User</th><th>Container</th><Th sort="bytes" label="Bytes" /><Th sort="packets" label="Packets" /><th>From</th><Th sort="flows" label="Flows (active / closed)" /><th>Servers</th><Th sort="failedConnects" label="Failed connects" /><Th sort="retransmissions" label="Retransmissions" /><Th sort="lastSeen" label="Last seen" /></tr></thead>
        <tbody id="processes">
          {(list?.processes ?? []).map((p) => (
            <tr>
              <td><a href={processLink(p.key)} title={p.path}>{p.name}</a></td>
              <td>{p.pids.join(', ')}</td>
              <td>{p.host}</td>
              <td>{user(p)}</td>
              <td>{container(p)}</td>
              <td class="num">{fmt(p.bytes)}</td>
              <td class="num">{fmt(p.packets)}</td>
              <td>{p.trafficFrom}</td>
              <td class="num">{fmt(p.flowsActive)} / {fmt(p.flowsClosed)}</td>
              <td class="num">{fmt(p.servers.length)}</td>
              <td class="num">{fmt(p.failedConnects)}</td>
              <td class="num">{fmt(p.retransmissions)}</td>
              <td>{timeText(p.lastSeen)}</td>
            </tr>
          ))}
          {list && list.other.processes > 0 ? <tr class="other"><td>other ({fmt(list.other.processes)})</td><td></td><td></td><td></td><td></td><td class="num">{fmt(list.other.bytes)}</td><td class="num">{fmt(list.other.packets)}</td><td></td><td class="num">{fmt(list.other.flows)}</td><td></td><td></td><td></td><td></td></tr> : null}
        </tbody>
      </table>
      <p><small>Traffic is what the capture saw where a flow was captured, else the netstat counters its events carried ("From"). A connection seen on two interfaces counts once. At most {fmt(list?.bound.top ?? 0)} processes are listed (--top-processes).</small></p>
      <script dangerouslySetInnerHTML={{ __html: refreshSameUrl(['processes', 'process-total']) }} />
    </Layout>
  );
}

function ProcessPage({ ctx, processKey: key }: { ctx: ApiContext; processKey: string }) {
  const detail = ctx.telemetry.process?.(key, 500);
  if (!detail) throw new SettingsError(`no process ${JSON.stringify(key)} in the flow tables now`, 404);
  const p = detail.process;
  // Its traffic over time: the first interface holding a series under its name (the per-process metrics' top list).
  const withSeries = ctx.telemetry.history ? p.interfaces.find((id) => ctx.telemetry.history!.processes(id).includes(p.name)) : undefined;
  const points = withSeries !== undefined ? timeseriesOf(ctx, withSeries, { metric: 'bytes', resolution: '1s', process: p.name }).points : undefined;
  return (
    <Layout title={`Process ${p.name}`} problems={problemTexts(ctx)} ctx={ctx}>
      <style dangerouslySetInnerHTML={{ __html: STYLE }} />
      <h1>Process {p.name}</h1>
      <table id="process" style="max-width:720px">
        <tbody>
          <tr><th>Path</th><td>{p.path ?? '—'}</td></tr>
          <tr><th>PIDs seen</th><td>{p.pids.join(', ')}</td></tr>
          <tr><th>Host</th><td>{p.host}</td></tr>
          <tr><th>User</th><td>{user(p) || '—'}</td></tr>
          <tr><th>Container</th><td>{container(p) || '—'}</td></tr>
          <tr><th>Traffic</th><td>{fmt(p.bytes)} bytes, {fmt(p.packets)} packets (from {p.trafficFrom})</td></tr>
          <tr><th>Flows</th><td>{fmt(p.flowsActive)} active, {fmt(p.flowsClosed)} closed; {fmt(p.flowsServed)} served</td></tr>
          <tr><th>Failed connects</th><td>{fmt(p.failedConnects)}</td></tr>
          <tr><th>Retransmissions</th><td>{fmt(p.retransmissions)}</td></tr>
          <tr><th>Last seen</th><td>{timeText(p.lastSeen)}</td></tr>
          <tr><th>Interfaces</th><td>{p.interfaces.map((id) => { const i = ctx.registry.resolve(id); return i ? <><a href={ifaceLink(i)}>{i.name}</a>{' '}</> : null; })}</td></tr>
        </tbody>
      </table>
      {points ? <LineChart id="process-throughput" title={`${p.name}: bytes per second, last 10 minutes`} points={points} src={`/api/v1/interfaces/${withSeries}/timeseries?metric=bytes&resolution=1s&process=${encodeURIComponent(p.name)}`} unit="bytes/s" /> : <p><small>No traffic history for {p.name}: the history keeps the top processes of each interface.</small></p>}
      <h2>Servers it talks to</h2>
      <table style="max-width:720px">
        <thead><tr><th>Server</th><th>Protocol</th><th>Flows</th><th>Bytes</th></tr></thead>
        <tbody id="servers">
          {p.servers.map((s) => <tr><td>{s.ip}:{s.port}</td><td>{s.protocol === 6 ? 'TCP' : s.protocol === 17 ? 'UDP' : s.protocol}</td><td class="num">{fmt(s.flows)}</td><td class="num">{fmt(s.bytes)}</td></tr>)}
          {p.serversDropped ? <tr><td colspan={4}><small>{fmt(p.serversDropped)} more flows to servers past the {p.servers.length} listed</small></td></tr> : null}
        </tbody>
      </table>
      <h2>Its flows</h2>
      <p id="flow-total">{fmt(detail.totalFlows)} flows{detail.totalFlows > detail.flows.length ? ` (the ${detail.flows.length} largest)` : ''}</p>
      <table>
        <thead><tr><th>Interface</th><th>Client</th><th>Server</th><th>Proto</th><th>Bytes</th><th>Packets</th><th>PID</th><th>Last event</th><th>State</th><th>Seen by</th></tr></thead>
        <tbody id="flows">
          {detail.flows.map((f) => {
            const i = ctx.registry.resolve(f.interfaceId);
            return (
              <tr>
                <td>{i ? <a href={`${ifaceLink(i)}/flows?port=${f.client.port}&host=${encodeURIComponent(f.client.ip)}`}>{i.name}</a> : f.interfaceId}</td>
                <td>{f.client.ip}:{f.client.port}</td>
                <td>{f.server.ip}:{f.server.port}</td>
                <td>{f.protocolName}</td>
                <td class="num">{fmt(f.bytes)}</td>
                <td class="num">{fmt(f.packets)}</td>
                <td>{f.process?.pid ?? ''}</td>
                <td>{f.lastEvent ?? ''}</td>
                <td>{f.tcp?.state ?? f.tcp?.flags ?? ''}{f.closed ? ' (closed)' : ''}</td>
                <td>{f.seenBy.join(', ')}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <script dangerouslySetInnerHTML={{ __html: (points ? chartScript(2000) : '') + refreshSameUrl(['process', 'servers', 'flows', 'flow-total']) }} />
    </Layout>
  );
}

export function processesPages(ctx: ApiContext): Hono {
  const app = new Hono();
  app.get('/processes', (c) => c.html(<ProcessesPage ctx={ctx} query={c.req.query()} />));
  app.get('/processes/:key', (c) => c.html(<ProcessPage ctx={ctx} processKey={c.req.param("key")} />));
  return app;
}
