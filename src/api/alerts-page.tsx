/** @jsxImportSource hono/jsx */
// IDS alerts as an operator sees them: the alert counters and the conditional store's
// figures at the top, then the alerts newest first (time, source, signature, severity,
// status, the flow each joined with the process/user/container behind it, a link to the
// flow on its interface's flows page and, where the interface keeps alerted flows, a link
// to the flow's pcap), filtered by signature id and Community ID; then flowbridge's own
// rules, read-only. Everything shown is written through JSX, so nothing an alert or a
// query carries is echoed as HTML. The counters and the list refresh in place.
import { Hono } from 'hono';
import { tupleKey } from '../flows/flow-key.ts';
import type { AlertFilter } from '../alerts/alert-store.ts';
import type { AlertRule } from '../alerts/rules.ts';
import { ALERT_SOURCES, type AlertStats, type MatchedFlow, type StoredAlert, type UnmatchedReason } from '../model/alert.ts';
import type { FlowRecord } from '../model/flow.ts';
import type { ConditionalStats } from '../model/conditional.ts';
import type { ApiContext } from './context.ts';
import { bytesText, fmt, Layout, timeText } from './layout.tsx';

const dash = '—';
/** Alerts shown at most (the store keeps more: GET /api/v1/alerts?limit=…). */
const SHOWN = 500;
const problemTexts = (ctx: ApiContext) => ctx.telemetry.problems().map((p) => p.text);

const UNMATCHED_TEXT: Record<UnmatchedReason, string> = {
  'no-flow': 'no flow with its 5-tuple on any packet interface',
  'community-id-differs': 'a flow has its 5-tuple but another Community ID',
  'pending-queue-full': 'too many alerts were waiting for their flows',
};

const STYLE = `
table.figures{width:auto;margin-bottom:12px}table.figures th{font-weight:600}
#alerts td div+div{margin-top:4px}.status.matched{color:#2e7d32;font-weight:600}.status.unmatched{color:#c0392b;font-weight:600}.status.pending{color:#b26a00;font-weight:600}
td.signature{white-space:normal;min-width:240px}
`;

/** The filters of the query (`error` when one is not usable: the list is then unfiltered). */
function filterOf(query: Record<string, string>): { filter: AlertFilter; error?: string } {
  const filter: AlertFilter = { limit: SHOWN };
  const sig = (query.signature_id ?? '').trim();
  const cid = (query.community_id ?? '').trim();
  if (sig !== '') {
    if (!/^\d{1,10}$/.test(sig) || Number(sig) > 0xffffffff) return { filter: { limit: SHOWN }, error: `signature id ${JSON.stringify(sig)} is not a whole number from 0 to 4294967295` };
    filter.signatureId = Number(sig);
  }
  if (cid !== '') {
    if (!/^1:[A-Za-z0-9+/]{27}=$/.test(cid)) return { filter: { limit: SHOWN }, error: `community id ${JSON.stringify(cid)} is not a Community ID v1 (1: and 28 base64 characters)` };
    filter.communityId = cid;
  }
  return { filter };
}

function AlertCounters({ s }: { s: AlertStats }) {
  const rejected = Object.entries(s.rejected).filter(([, n]) => n);
  return (
    <table class="figures" id="alert-counters">
      <tbody>
        <tr><th>Received, by source</th>{ALERT_SOURCES.map((src) => <td class={`by-source ${src}`}>{src} <b>{fmt(s.bySource[src] ?? 0)}</b></td>)}</tr>
        <tr><th>Matched to a flow</th><td class="matched-count" colspan={4}>{fmt(s.matched)}</td></tr>
        <tr><th>Waiting for their flow</th><td class="pending-count" colspan={4}>{fmt(s.pending.size)} <small>(at most {fmt(s.pending.max)}; {fmt(s.pending.dropped)} given up when full)</small></td></tr>
        <tr><th>Unmatched, by reason</th>{(Object.keys(UNMATCHED_TEXT) as UnmatchedReason[]).map((r) => <td class={`unmatched ${r}`} title={UNMATCHED_TEXT[r]}>{r} <b>{fmt(s.unmatched[r] ?? 0)}</b></td>)}</tr>
        <tr><th>Refused lines</th><td class="refused" colspan={4}>{rejected.length ? rejected.map(([r, n]) => `${r} ${fmt(n ?? 0)}`).join(', ') : 'none'}</td></tr>
        <tr><th>Kept</th><td class="stored" colspan={4}>{fmt(s.store.size)} of at most {fmt(s.store.max)}{s.store.dropped ? `; ${fmt(s.store.dropped)} oldest evicted` : ''}</td></tr>
      </tbody>
    </table>
  );
}

const shareText = (share: number) => `${(share * 100).toLocaleString('en-US', { maximumSignificantDigits: 3 })}%`;

function ConditionalFigures({ s }: { s: ConditionalStats | undefined }) {
  if (!s || s.interfaces.length === 0) {
    return <p id="conditional">No interface keeps the packets of alerted flows (<code>--conditional-pcap &lt;iface&gt;=&lt;size&gt;</code>, or PATCH /api/v1/conditional-pcap).</p>;
  }
  const sum = (pick: (i: ConditionalStats['interfaces'][number]) => number) => s.interfaces.reduce((n, i) => n + pick(i), 0);
  return (
    <div id="conditional">
      <table class="figures">
        <tbody>
          <tr><th>Alerted flows now</th><td class="alerted-flows">{fmt(sum((i) => i.alertedFlows))}</td></tr>
          <tr><th>Flows alerted since start</th><td class="flows-alerted">{fmt(sum((i) => i.flowsAlerted))} <small>({fmt(sum((i) => i.flowsEnded))} ended, {fmt(sum((i) => i.flowsRefused))} refused at the bound)</small></td></tr>
          <tr><th>Stored</th><td class="stored-bytes">{bytesText(s.storedBytes)} of {bytesText(s.capturedBytes)} captured ({shareText(s.storedShare)})</td></tr>
          <tr><th>Rotations</th><td class="rotations">{fmt(s.rotations)}</td></tr>
        </tbody>
      </table>
      <table>
        <thead><tr><th>Interface</th><th>State</th><th>Alerted flows</th><th>Packets stored</th><th>Bytes stored</th><th>On disk</th><th>Bound</th><th>Share of captured</th><th>Rotations</th></tr></thead>
        <tbody>
          {s.interfaces.map((i) => (
            <tr id={`conditional-${i.interface}`}>
              <td>{i.interface}</td>
              <td>{i.store.state}{i.store.error ? <div><small>{i.store.error}</small></div> : null}</td>
              <td class="num">{fmt(i.alertedFlows)} / {fmt(i.maxFlows)}</td>
              <td class="num">{fmt(i.store.packets)}</td>
              <td class="num">{bytesText(i.store.bytes)}</td>
              <td class="num">{bytesText(i.store.diskBytes)}</td>
              <td class="num">{bytesText(i.store.maxDiskBytes)}</td>
              <td class="num">{shareText(i.capturedBytes > 0 ? i.store.bytes / i.capturedBytes : 0)}</td>
              <td class="num">{fmt(i.store.deletedFiles)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The flow as the table has it now (for its container, and a process learned after the join); undefined once it left. */
function liveFlow(ctx: ApiContext, f: MatchedFlow): FlowRecord | undefined {
  const iface = ctx.registry.resolve(f.interfaceId);
  if (!iface || iface.name !== f.interface) return undefined;
  return iface.flows.recordByTuple(tupleKey(f.protocol, f.client, f.server));
}

const flowsLink = (f: MatchedFlow) => `/interfaces/${f.interfaceId}/flows?communityId=${encodeURIComponent(f.communityId)}`;
const endpoint = (e: { ip: string; port: number }) => (e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`);

function AlertRow({ ctx, a }: { ctx: ApiContext; a: StoredAlert }) {
  const alert = a.record.alert ?? {};
  const flows = a.flows.map((f) => ({ f, live: liveFlow(ctx, f) }));
  const keeps = a.status === 'matched' && ctx.conditional !== undefined && a.flows.some((f) => ctx.conditional!.pcap.storeOf(f.interface));
  return (
    <tr id={`alert-${a.id}`}>
      <td class="time">{timeText(a.receivedAt)}{a.record.timestamp ? <div><small title="the IDS's timestamp">{a.record.timestamp}</small></div> : null}</td>
      <td class="source">{a.source}</td>
      <td class="sid num">{alert.signature_id ?? dash}</td>
      <td class="signature">{alert.signature ?? dash}{alert.category ? <div><small>{alert.category}</small></div> : null}</td>
      <td class="severity num">{alert.severity ?? dash}</td>
      <td class={`status ${a.status}`}>{a.status}{a.unmatchedReason ? <>{' '}({a.unmatchedReason})<div><small>{UNMATCHED_TEXT[a.unmatchedReason]}</small></div></> : null}</td>
      <td class="flow">{flows.length ? flows.map(({ f }) => (
        <div>{f.interface}: {endpoint(f.client)} → {endpoint(f.server)}<br /><small class="community-id">{f.communityId}</small></div>
      )) : dash}</td>
      <td class="process">{flows.map(({ f, live }) => {
        const p = f.process ?? live?.process;
        return <div>{p ? `${p.path ?? ''} [${p.pid}]` : dash}</div>;
      })}</td>
      <td class="user">{flows.map(({ f, live }) => {
        const p = f.process ?? live?.process;
        return <div>{p?.user ?? (p?.uid !== undefined ? String(p.uid) : dash)}</div>;
      })}</td>
      <td class="container">{flows.map(({ live }) => {
        const c = live?.container;
        return <div>{c ? `${c.name ?? c.id ?? ''}${c.pod ? ` (${c.namespace ?? ''}/${c.pod})` : ''}` : dash}</div>;
      })}</td>
      <td class="links">
        {flows.map(({ f, live }) => <div><a class="flow-link" href={flowsLink(f)} title={live ? `The flow on ${f.interface}` : `The flow has left ${f.interface}'s table`}>flow</a></div>)}
        {keeps ? <div><a class="alert-pcap" href={`/api/v1/alerts/${encodeURIComponent(a.id)}/pcap`} download="" title="Download the flow's packets kept since the alert (pcap)">pcap</a></div> : null}
      </td>
    </tr>
  );
}

function ruleMatchText(m: AlertRule['match']): string {
  return Object.entries(m).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${String(v)}`).join(', ');
}

function RulesTable({ ctx }: { ctx: ApiContext }) {
  if (!ctx.rules) return <p id="rules">flowbridge's own rules are not served here.</p>;
  const rules = ctx.rules.list();
  if (!rules.length) return <p id="rules">No rules (the config file's <code>rules</code>, or PUT /api/v1/rules).</p>;
  return (
    <table id="rules">
      <thead><tr><th>Signature id</th><th>Signature</th><th>Severity</th><th>Matches</th><th>Fires</th></tr></thead>
      <tbody>
        {rules.map((r) => (
          <tr id={`rule-${r.signatureId}`}>
            <td class="num">{r.signatureId}</td>
            <td>{r.signature}</td>
            <td class="num">{r.severity}</td>
            <td>{ruleMatchText(r.match)}</td>
            <td>{(r.count ?? 1) <= 1 ? 'on every match' : `at ${fmt(r.count!)} matches of one process within ${fmt(r.windowSeconds ?? 60)} s`}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Replaces the counters, the figures and the list with a fresh copy of this page (same filters) every 2 s. */
const REFRESH = `
setInterval(async () => {
  const r = await fetch(location.href, { headers: { accept: 'text/html' } });
  if (!r.ok) return;
  const doc = new DOMParser().parseFromString(await r.text(), 'text/html');
  for (const id of ['alert-counters', 'conditional', 'alerts-total', 'alerts']) {
    const fresh = doc.getElementById(id), now = document.getElementById(id);
    if (fresh && now) now.replaceWith(fresh);
  }
}, 2000);`;

function AlertsPage({ ctx, query }: { ctx: ApiContext; query: Record<string, string> }) {
  const alerts = ctx.alerts;
  if (!alerts) {
    return (
      <Layout title="Alerts" problems={problemTexts(ctx)} ctx={ctx}>
        <h1>Alerts</h1>
        <p>This flowbridge takes no alerts.</p>
      </Layout>
    );
  }
  const { filter, error } = filterOf(query);
  const { total, alerts: list } = alerts.store.list(filter);
  return (
    <Layout title="Alerts" problems={problemTexts(ctx)} ctx={ctx}>
      <style dangerouslySetInnerHTML={{ __html: STYLE }} />
      <h1>Alerts</h1>
      <AlertCounters s={alerts.stats()} />
      <h2>Packets of alerted flows</h2>
      <ConditionalFigures s={ctx.conditional?.pcap.stats()} />
      <h2>Alerts, newest first</h2>
      {error ? <div class="error">{error}</div> : null}
      <form class="filters" method="get" action="/alerts">
        <label for="signature_id">Signature id</label> <input name="signature_id" id="signature_id" value={query.signature_id ?? ''} placeholder="2018358" />{' '}
        <label for="community_id">Community ID</label> <input name="community_id" id="community_id" value={query.community_id ?? ''} placeholder="1:…=" style="width:260px" />{' '}
        <button type="submit">Filter</button> <a href="/alerts">All alerts</a>
      </form>
      <p id="alerts-total">{fmt(total)} alert{total === 1 ? '' : 's'}{total > list.length ? ` (showing the newest ${fmt(list.length)})` : ''}</p>
      <table>
        <thead><tr><th>Time</th><th>Source</th><th>Signature id</th><th>Signature</th><th>Severity</th><th>Status</th><th>Flow</th><th>Process</th><th>User</th><th>Container</th><th></th></tr></thead>
        <tbody id="alerts">{list.map((a) => <AlertRow ctx={ctx} a={a} />)}</tbody>
      </table>
      <h2>Rules</h2>
      <p><small>flowbridge's own rules on the merged events (read-only here: GET/PUT /api/v1/rules).</small></p>
      <RulesTable ctx={ctx} />
      <script dangerouslySetInnerHTML={{ __html: REFRESH }} />
    </Layout>
  );
}

export function alertsPages(ctx: ApiContext): Hono {
  const app = new Hono();
  app.get('/alerts', (c) => c.html(<AlertsPage ctx={ctx} query={c.req.query()} />));
  return app;
}
