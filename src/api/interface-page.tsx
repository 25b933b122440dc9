/** @jsxImportSource hono/jsx */
// One interface as a person reads it: its state, its setting ("Mirrored Traffic" or
// "Companion Interface"), its flows, what it captured or collected, and for a ZMQ
// interface the exporters, the hosts' interface counters and their listening ports.
import type { MonitoredInterface } from '../interfaces/interface.ts';
import type { Bound, DirectionCounters, HostInterfaceCounters, HostListeningPorts } from '../model/telemetry.ts';
import type { ApiContext } from './context.ts';
import { interfaceView, type InterfaceView } from './interface-view.ts';
import { fmt, ifaceLink, Layout } from './layout.tsx';
import { RecordingSettingsCard } from './recording-pages.tsx';
import { InterfaceTools } from './capture-pages.tsx';

const dash = '—';
const rate = (n: number | undefined) => (n === undefined ? dash : n.toLocaleString('en-US', { maximumFractionDigits: n < 10 ? 2 : 0 }));
const count = (n: number | undefined) => (n === undefined ? dash : fmt(n));
const time = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');

/** Rows of name → number, or a line saying there are none. */
function Counts({ title, values, empty }: { title: string; values: Record<string, number | undefined>; empty: string }) {
  const rows = Object.entries(values).filter(([, n]) => n);
  return (
    <table>
      <thead><tr><th>{title}</th><th>Count</th></tr></thead>
      <tbody>{rows.length ? rows.map(([k, n]) => <tr><td>{k}</td><td class="num">{count(n)}</td></tr>) : <tr><td colspan={2}><small>{empty}</small></td></tr>}</tbody>
    </table>
  );
}

function Settings({ ctx, iface, v }: { ctx: ApiContext; iface: MonitoredInterface; v: InterfaceView }) {
  // Local mirrored interfaces, and on a scale-out ingest node the devices capture nodes mark mirrored.
  const choices = ctx.companions.companionChoices();
  return (
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
              {choices.map((name) => <option value={name} selected={v.companion === name}>{name}</option>)}
            </select>
            <br /><small>Only interfaces marked "Mirrored Traffic" are listed. Events of this interface are also delivered there, except loopback ones.</small>
          </p>
        )}
        <button type="submit">Save</button>
      </form>
    </div>
  );
}

function Capture({ c }: { c: NonNullable<InterfaceView['capture']> }) {
  return (
    <section id="capture">
      <h2>Capture on {c.device}</h2>
      <table>
        <thead><tr><th>Packets</th><th>Bytes</th><th>Kernel drops</th></tr></thead>
        <tbody><tr><td class="num">{fmt(c.packets)}</td><td class="num">{fmt(c.bytes)}</td><td class="num">{count(c.kernelDrops)}</td></tr></tbody>
      </table>
      <Counts title="Packets not used, by reason" values={c.errors} empty="No capture errors." />
    </section>
  );
}

function Collector({ c }: { c: NonNullable<InterfaceView['collector']> }) {
  return (
    <section id="collector">
      <h2>Exporters</h2>
      <p>
        Endpoints <code>{c.endpoints}</code>: {fmt(c.exporters)} exporter{c.exporters === 1 ? '' : 's'} seen in the last 10 s,{' '}
        {fmt(Object.values(c.events).reduce((a, b) => a + b, 0))} events accepted, {fmt(Object.values(c.rejected).reduce((a, b) => a + b, 0))} rejected,{' '}
        {fmt(c.lostMessages)} messages lost. <a href="/exporters">Exporters, rejections and samples →</a>
      </p>
      <Counts title="Events accepted, by kind" values={c.events} empty="No events yet." />
      <Counts title="Rejected, by reason" values={c.rejected} empty="Nothing rejected." />
      <p id="decoding">
        {c.decoding.scanner === 'native'
          ? <>Socket payloads: {fmt(c.decoding.scanned)} records read by the native JSON scanner; what it was not sure of went through <code>JSON.parse</code> (below).</>
          : <>Socket payloads go through <code>JSON.parse</code>: {c.decoding.scanner}.</>}
      </p>
      {c.decoding.scanner === 'native' && <Counts title="Left to JSON.parse, by reason" values={c.decoding.fallbacks} empty="Nothing left to JSON.parse." />}
    </section>
  );
}

const directionCells = (d: DirectionCounters) => [d.bytes, d.packets, d.errors, d.drops].map((n) => <td class="num">{count(n)}</td>);
const rateCells = (d: DirectionCounters | undefined) => [d?.bytes, d?.packets].map((n) => <td class="num">{rate(n)}</td>);

function HostInterfaces({ rows, bound }: { rows: HostInterfaceCounters[]; bound: Bound }) {
  return (
    <section>
      <h2>Host interfaces</h2>
      <p><small>Counters the exporter hosts report for their own interfaces (topic counter); rates between the last two reports. Drops show when a host reports them. {fmt(bound.size)} of at most {fmt(bound.max)} kept{bound.dropped ? `, ${fmt(bound.dropped)} evicted` : ''}.</small></p>
      <table id="host-interfaces">
        <thead>
          <tr><th rowspan={2}>Host</th><th rowspan={2}>Interface</th><th rowspan={2}>Oper</th><th colspan={4}>In</th><th colspan={4}>Out</th><th colspan={2}>In per second</th><th colspan={2}>Out per second</th><th rowspan={2}>Resets</th><th rowspan={2}>Last report</th></tr>
          <tr><th>bytes</th><th>packets</th><th>errors</th><th>drops</th><th>bytes</th><th>packets</th><th>errors</th><th>drops</th><th>bytes</th><th>packets</th><th>bytes</th><th>packets</th></tr>
        </thead>
        <tbody>
          {rows.length ? rows.map((h) => (
            <tr>
              <td>{h.host}</td><td>{h.ifName}</td><td>{h.operUp === undefined ? dash : h.operUp ? 'up' : 'down'}</td>
              {directionCells(h.in)}{directionCells(h.out)}{rateCells(h.rates?.in)}{rateCells(h.rates?.out)}
              <td class="num">{fmt(h.resets)}</td><td>{time(h.lastReport)}</td>
            </tr>
          )) : <tr><td colspan={17}><small>No counters reported yet.</small></td></tr>}
        </tbody>
      </table>
    </section>
  );
}

function ListeningPorts({ hosts }: { hosts: HostListeningPorts[] }) {
  return (
    <section>
      <h2>Listening ports</h2>
      <table id="listening-ports">
        <thead><tr><th>Host</th><th>Process</th><th>Protocol</th><th>Port</th><th>Package</th><th>Addresses</th></tr></thead>
        <tbody>
          {hosts.some((h) => h.ports.length) ? hosts.flatMap((h) => h.ports.map((p) => (
            <tr><td>{h.host}</td><td>{p.process ?? dash}</td><td>{p.protocol}{p.ipVersion}</td><td class="num">{p.port}</td><td>{p.package ?? dash}</td><td>{h.addresses.join(', ')}</td></tr>
          ))) : <tr><td colspan={6}><small>No listening ports announced yet.</small></td></tr>}
        </tbody>
      </table>
      {hosts.filter((h) => h.portsDropped).map((h) => <p><small>{h.host}: {fmt(h.portsDropped)} more ports were announced than are kept.</small></p>)}
    </section>
  );
}

function Tables({ v }: { v: InterfaceView }) {
  const rows: [string, Bound][] = [
    ['flows', { size: v.flows.active, max: v.flows.bound, dropped: v.flows.evicted }],
    ['dispatch queue', { size: v.dispatch.queueSize, max: v.dispatch.queueBound, dropped: v.dispatch.dropped['queue-full'] ?? 0 }],
    ...Object.entries(v.tables),
  ];
  return (
    <section>
      <h2>Bounded tables</h2>
      <table id="tables">
        <thead><tr><th>Table</th><th>Size</th><th>Bound</th><th>Dropped</th></tr></thead>
        <tbody>{rows.map(([name, b]) => <tr><td>{name}</td><td class="num">{fmt(b.size)}</td><td class="num">{fmt(b.max)}</td><td class="num">{fmt(b.dropped)}</td></tr>)}</tbody>
      </table>
    </section>
  );
}

export function InterfacePage({ ctx, iface, note, error }: { ctx: ApiContext; iface: MonitoredInterface; note?: string; error?: string }) {
  const v = interfaceView(ctx, iface);
  return (
    <Layout title={iface.name} problems={v.problems} ctx={ctx}>
      <h1>{iface.name} <small>({iface.kind === 'zmq' ? 'ZMQ interface' : 'packet interface'}, id {iface.id})</small></h1>
      {note ? <div class="note">{note}</div> : null}
      {error ? <div class="error">{error}</div> : null}
      <p id="state">State: <span class={`state ${v.status.state}`}>{v.status.state}</span>{v.status.error ? <> · {v.status.error}</> : null}</p>
      <Settings ctx={ctx} iface={iface} v={v} />
      <p id="flows-summary">
        <a href={`${ifaceLink(iface)}/flows`}>{fmt(v.flows.active)} flow{v.flows.active === 1 ? '' : 's'}</a> ({fmt(v.flows.bySeen.both)} seen by packets and events,{' '}
        {fmt(v.flows.bySeen.packets)} by packets only, {fmt(v.flows.bySeen.events)} by events only; {fmt(v.flows.expired)} expired)
      </p>
      <InterfaceTools ctx={ctx} iface={iface} />
      <RecordingSettingsCard ctx={ctx} iface={iface} />
      {v.capture ? <Capture c={v.capture} /> : null}
      {v.collector ? <Collector c={v.collector} /> : null}
      {iface.kind === 'zmq' ? (
        <>
          <HostInterfaces rows={ctx.telemetry.hostInterfaces(iface.id) ?? []} bound={v.tables['host-interfaces']} />
          <ListeningPorts hosts={ctx.telemetry.listeningPorts(iface.id) ?? []} />
        </>
      ) : null}
      <section>
        <h2>Dispatch</h2>
        <p>Events delivered: {Object.entries(v.dispatch.delivered).map(([route, n]) => `${route} ${fmt(n)}`).join(', ')}; not delivered: {Object.entries(v.dispatch.dropped).map(([reason, n]) => `${reason} ${fmt(n)}`).join(', ')}.</p>
      </section>
      <Tables v={v} />
    </Layout>
  );
}
