/** @jsxImportSource hono/jsx */
// An interface's dashboard: its throughput over the last 10 minutes, its top processes,
// its top talkers and the events it took in, rejected and dropped. The chart redraws
// and the tables refresh without a reload; the tables need no JavaScript.
import { Hono } from 'hono';
import type { MonitoredInterface } from '../interfaces/interface.ts';
import { topTalkers } from '../views/top-talkers.ts';
import { interfaceSample } from '../views/history-sampler.ts';
import type { ApiContext } from './context.ts';
import { interfaceView } from './interface-view.ts';
import { bytesText, fmt, ifaceLink, Layout, refreshScript } from './layout.tsx';
import { chartScript, LineChart } from './line-chart.tsx';
import { timeseriesOf } from './processes-api.ts';

const TOP = 10;
const STYLE = `.chart{margin:0 0 16px;background:#fff;padding:8px 12px;box-shadow:0 1px 2px #0001;display:inline-block}.chart figcaption{font-weight:600;margin-bottom:4px}
.bar{display:inline-block;height:10px;background:#1f6fd1;border-radius:2px;vertical-align:middle}.grid{display:grid;grid-template-columns:1fr 1fr;gap:16px}`;

export const dashboardLink = (i: { id: number }) => `${ifaceLink(i)}/dashboard`;
export const processLink = (key: string) => `/processes/${encodeURIComponent(key)}`;

function Dashboard({ ctx, iface }: { ctx: ApiContext; iface: MonitoredInterface }) {
  const view = interfaceView(ctx, iface);
  const bytesSrc = `/api/v1/interfaces/${iface.id}/timeseries?metric=bytes&resolution=1s`;
  const series = ctx.telemetry.history ? timeseriesOf(ctx, iface.id, { metric: 'bytes', resolution: '1s' }).points : [];
  const procs = ctx.telemetry.processes?.({ interfaces: [iface.id], limit: TOP });
  const maxBytes = Math.max(1, ...(procs?.processes.map((p) => p.bytes) ?? []));
  const talkers = topTalkers(iface.flows, TOP);
  const t = ctx.telemetry.interfaces().find((x) => x.id === iface.id)!;
  const totals = interfaceSample(t, []);
  const last10 = (metric: 'eventsAccepted' | 'eventsRejected' | 'eventsDropped') =>
    ctx.telemetry.history ? timeseriesOf(ctx, iface.id, { metric, resolution: '1s' }).points.reduce((a, p) => a + p.v, 0) : 0;
  return (
    <Layout title={`Dashboard of ${iface.name}`} problems={view.problems} ctx={ctx}>
      <style dangerouslySetInnerHTML={{ __html: STYLE }} />
      <h1>Dashboard of <a href={ifaceLink(iface)}>{iface.name}</a></h1>
      <p><a href={`${ifaceLink(iface)}/flows`}>Flows</a> · <a href={`/processes?interface=${iface.id}`}>Processes</a></p>
      <LineChart id="throughput" title={`Throughput, bytes per second (${iface.kind === 'packet' ? 'captured' : 'netstat counters of the flows\' processes'}), last 10 minutes`} points={series} src={bytesSrc} unit="bytes/s" />
      <div class="grid">
        <section>
          <h2>Top processes</h2>
          <table id="top-processes">
            <thead><tr><th>Process</th><th>Host</th><th>User</th><th>Bytes</th><th></th><th>Flows</th><th>From</th></tr></thead>
            <tbody>
              {procs?.processes.length ? procs.processes.map((p) => (
                <tr>
                  <td><a href={processLink(p.key)}>{p.name}</a></td>
                  <td>{p.host}</td>
                  <td>{p.user ?? (p.uid !== undefined ? String(p.uid) : '')}</td>
                  <td class="num">{fmt(p.bytes)}</td>
                  <td><span class="bar" style={`width:${Math.round((p.bytes / maxBytes) * 120)}px`} /></td>
                  <td class="num">{fmt(p.flowsActive + p.flowsClosed)}</td>
                  <td>{p.trafficFrom}</td>
                </tr>
              )) : <tr><td colspan={7}><small>No flow has a process yet: processes come from the events of eBPF exporters.</small></td></tr>}
              {procs && procs.other.processes > 0 ? <tr class="other"><td>other ({fmt(procs.other.processes)})</td><td></td><td></td><td class="num">{fmt(procs.other.bytes)}</td><td></td><td class="num">{fmt(procs.other.flows)}</td><td></td></tr> : null}
            </tbody>
          </table>
        </section>
        <section>
          <h2>Top talkers</h2>
          <table id="top-talkers">
            <thead><tr><th>Host</th><th>Bytes</th><th>Packets</th><th>Flows</th></tr></thead>
            <tbody>
              {talkers.talkers.length ? talkers.talkers.map((h) => (
                <tr><td><a href={`${ifaceLink(iface)}/flows?host=${encodeURIComponent(h.ip)}`}>{h.ip}</a></td><td class="num">{fmt(h.bytes)}</td><td class="num">{fmt(h.packets)}</td><td class="num">{fmt(h.flows)}</td></tr>
              )) : <tr><td colspan={4}><small>No flows yet.</small></td></tr>}
            </tbody>
          </table>
        </section>
      </div>
      <h2>Events</h2>
      <table id="events" style="max-width:720px">
        <thead><tr><th></th><th>Since start</th><th>Last 10 minutes</th></tr></thead>
        <tbody>
          <tr><td>Accepted{iface.kind === 'packet' ? ' (delivered here by dispatch)' : ''}</td><td class="num">{fmt(totals.eventsAccepted)}</td><td class="num">{fmt(last10('eventsAccepted'))}</td></tr>
          <tr><td>Rejected</td><td class="num">{fmt(totals.eventsRejected)}</td><td class="num">{fmt(last10('eventsRejected'))}</td></tr>
          <tr><td>Dropped</td><td class="num">{fmt(totals.eventsDropped)}</td><td class="num">{fmt(last10('eventsDropped'))}</td></tr>
          <tr><td>Traffic</td><td class="num">{bytesText(totals.bytes)}</td><td class="num">{bytesText(series.reduce((a, p) => a + p.v, 0))}</td></tr>
        </tbody>
      </table>
      <script dangerouslySetInnerHTML={{ __html: chartScript(2000) + refreshScript(['top-processes', 'top-talkers', 'events'], 2000) }} />
    </Layout>
  );
}

export function dashboardPages(ctx: ApiContext, find: (ref: string) => MonitoredInterface): Hono {
  const app = new Hono();
  app.get('/interfaces/:id/dashboard', (c) => c.html(<Dashboard ctx={ctx} iface={find(c.req.param('id'))} />));
  return app;
}
