// /metrics: every counter the pipeline keeps, read from its telemetry (one snapshot
// per scrape; nothing runs on the hot path). Conventional names: prefix flowbridge_,
// units in the name, _total for counters. Per-process series are capped to the top N
// processes by bytes, the rest summed as process="other", and vanish with their flows;
// host interface series are bounded by the host interfaces table: cardinality stays bounded.
import { Counter, Gauge, Registry } from 'prom-client';
import type { DirectionCounters, HostInterfaceCounters, InterfaceTelemetry, Telemetry } from '../model/telemetry.ts';
import type { ProcessTraffic } from '../model/flow.ts';
import type { AlertStats } from '../model/alert.ts';
import type { ConditionalStats } from '../model/conditional.ts';
import type { ScaleOutStats } from '../scaleout/scaleout.ts';
import { registerScaleOutMetrics } from '../scaleout/metrics.ts';
import type { ExtractionStats } from '../model/recording.ts';
import type { WebStats } from '../model/web.ts';

type Labels = Record<string, string>;
type Sample = [Labels, number];

export interface MetricsEndpoint {
  contentType: string;
  /** The text format, from one snapshot of the pipeline's telemetry. */
  metrics(): Promise<string>;
}

/** What one scrape reads: taken once, before the collectors run. */
interface Snapshot {
  interfaces: InterfaceTelemetry[];
  processes: (ProcessTraffic & { iface: string })[];
  hosts: (HostInterfaceCounters & { iface: string })[];
  extractions?: ExtractionStats;
  alerts?: AlertStats;
  conditional?: ConditionalStats;
  scaleout?: ScaleOutStats;
}

export function createMetrics(telemetry: Telemetry, web?: () => WebStats): MetricsEndpoint {
  const registry = new Registry();
  let snap: Snapshot = { interfaces: [], processes: [], hosts: [] };
  const all = () => snap.interfaces;
  const zmqs = () => snap.interfaces.flatMap((i) => (i.collector ? [{ name: i.name, c: i.collector }] : []));
  const packets = () => snap.interfaces.flatMap((i) => (i.capture ? [{ name: i.name, p: i.capture }] : []));

  /** A counter whose total lives in the pipeline: set from `read()` at each scrape. */
  const counter = (name: string, help: string, labelNames: string[], read: () => Sample[]) =>
    new Counter({
      name, help, labelNames, registers: [registry],
      collect() {
        this.reset();
        for (const [labels, value] of read()) this.inc(labels, value);
      },
    });
  const gauge = (name: string, help: string, labelNames: string[], read: () => Sample[]) =>
    new Gauge({
      name, help, labelNames, registers: [registry],
      collect() {
        this.reset();
        for (const [labels, value] of read()) this.set(labels, value);
      },
    });
  const entries = (iface: { name: string }, label: string, values: Record<string, number | undefined>): Sample[] =>
    Object.entries(values).map(([k, v]) => [{ interface: iface.name, [label]: k }, v ?? 0]);

  counter('flowbridge_zmq_messages_total', 'ZMQ messages received, by topic', ['interface', 'topic'],
    () => zmqs().flatMap((z) => entries(z, 'topic', z.c.messages)));
  counter('flowbridge_events_accepted_total', 'Events accepted after validation, by kind', ['interface', 'kind'],
    () => zmqs().flatMap((z) => entries(z, 'kind', z.c.events)));
  counter('flowbridge_events_rejected_total', 'Messages or events rejected, by reason', ['interface', 'reason'],
    () => zmqs().flatMap((z) => entries(z, 'reason', z.c.rejected)));
  counter('flowbridge_zmq_lost_messages_total', 'Messages lost according to msg_id gaps', ['interface'],
    () => zmqs().map((z) => [{ interface: z.name }, z.c.lostMessages]));
  counter('flowbridge_zmq_connections_total', 'Producer connections seen by libzmq\'s socket monitor, by endpoint and event (accepted, connected, disconnected, oversize: cut by the 16 MiB frame guard, handshake-failed*)', ['interface', 'endpoint', 'event'],
    () => zmqs().flatMap((z) => Object.entries(z.c.connections ?? {}).flatMap(([endpoint, counts]) => Object.entries(counts).map(([event, n]): Sample => [{ interface: z.name, endpoint, event }, n ?? 0]))));
  counter('flowbridge_zmq_thread_restarts_total', 'Receive threads of the ZMQ interface that died and were started again', ['interface'],
    () => zmqs().map((z) => [{ interface: z.name }, z.c.threadRestarts ?? 0]));
  counter('flowbridge_zmq_scanned_records_total', 'Socket records read by the native JSON scanner (the rest went through JSON.parse)', ['interface'],
    () => zmqs().map((z) => [{ interface: z.name }, z.c.decoding?.scanned ?? 0]));
  counter('flowbridge_zmq_scanner_fallbacks_total', 'Socket payloads (or their rest, from a record on) the native JSON scanner left to JSON.parse, by reason (syntax, key, value, number, depth, full, shape, record)', ['interface', 'reason'],
    () => zmqs().flatMap((z) => entries(z, 'reason', z.c.decoding?.fallbacks ?? {})));
  gauge('flowbridge_exporters', 'Producers seen in the last 10 s', ['interface'],
    () => zmqs().map((z) => [{ interface: z.name }, z.c.exporters.length]));

  counter('flowbridge_dispatch_deliveries_total', 'Events delivered to an interface, by route (home, name, companion)', ['interface', 'route'],
    () => all().flatMap((i) => entries(i, 'route', i.dispatch.delivered)));
  counter('flowbridge_dispatch_drops_total', 'Events not delivered, by reason', ['interface', 'reason'],
    () => all().flatMap((i) => entries(i, 'reason', i.dispatch.dropped)));
  gauge('flowbridge_dispatch_queue_events', 'Events waiting to be merged', ['interface'],
    () => all().map((i) => [{ interface: i.name }, i.dispatch.queueSize]));
  gauge('flowbridge_dispatch_queue_bound_events', 'Bound of the dispatch queue', ['interface'],
    () => all().map((i) => [{ interface: i.name }, i.dispatch.queueBound]));

  counter('flowbridge_capture_packets_total', 'Packets captured', ['interface'],
    () => packets().map((p) => [{ interface: p.name }, p.p.packets]));
  counter('flowbridge_capture_bytes_total', 'Bytes captured (wire length)', ['interface'],
    () => packets().map((p) => [{ interface: p.name }, p.p.bytes]));
  counter('flowbridge_capture_errors_total', 'Captured packets that could not be used, by reason', ['interface', 'reason'],
    () => packets().flatMap((p) => entries(p, 'reason', p.p.errors)));
  counter('flowbridge_capture_restarts_total', 'Capture processes started again after theirs ended on its own (killed, crashed, device gone)', ['interface'],
    () => snap.interfaces.flatMap((i) => (i.kind === 'packet' ? [[{ interface: i.name }, i.status.restarts ?? 0] as Sample] : [])));

  // Continuous recording of packet interfaces (only those that record have series).
  const recordings = () => snap.interfaces.flatMap((i) => (i.recording?.enabled ? [{ name: i.name, r: i.recording }] : []));
  counter('flowbridge_recording_packets_total', 'Packets written to the recording since it (re)started', ['interface'],
    () => recordings().map((x) => [{ interface: x.name }, x.r.packets]));
  counter('flowbridge_recording_bytes_total', 'Bytes written to the recording (pcap records) since it (re)started', ['interface'],
    () => recordings().map((x) => [{ interface: x.name }, x.r.bytes]));
  counter('flowbridge_recording_dropped_packets_total', 'Packets not written to the recording, by reason (disk-full, write-error, failed)', ['interface', 'reason'],
    () => recordings().flatMap((x) => entries(x, 'reason', x.r.dropped)));
  counter('flowbridge_recording_deleted_files_total', 'Recorded files deleted to stay under the max disk space', ['interface'],
    () => recordings().map((x) => [{ interface: x.name }, x.r.deletedFiles]));
  gauge('flowbridge_recording_files', 'Files in the recording store', ['interface'], () => recordings().map((x) => [{ interface: x.name }, x.r.files]));
  gauge('flowbridge_recording_disk_bytes', 'Bytes the recording store takes on disk (indexes included)', ['interface'],
    () => recordings().map((x) => [{ interface: x.name }, x.r.diskBytes]));
  gauge('flowbridge_recording_disk_bound_bytes', 'Max disk space of the recording store', ['interface'], () => recordings().map((x) => [{ interface: x.name }, x.r.maxDiskBytes]));
  gauge('flowbridge_recording_retention_seconds', 'Time between the oldest and newest packet kept', ['interface'],
    () => recordings().map((x) => [{ interface: x.name }, x.r.oldest !== undefined && x.r.newest !== undefined ? (x.r.newest - x.r.oldest) / 1000 : 0]));
  gauge('flowbridge_recording_up', '1 when the recording runs, 0 when paused, failed or stopped', ['interface', 'state'],
    () => recordings().map((x) => [{ interface: x.name, state: x.r.state }, x.r.state === 'running' ? 1 : 0]));
  const extractions = () => snap.extractions;
  counter('flowbridge_extractions_streamed_total', 'Streamed pcap extractions, by outcome (sent, empty, refused)', ['outcome'],
    () => Object.entries(extractions()?.streamed ?? {}).map(([outcome, n]) => [{ outcome }, n]));
  counter('flowbridge_extraction_streamed_bytes_total', 'Bytes of pcap streamed by extractions', [], () => (extractions() ? [[{}, extractions()!.streamedBytes]] : []));
  gauge('flowbridge_extraction_jobs', 'Extraction jobs, by status', ['status'],
    () => Object.entries(extractions()?.jobs ?? {}).map(([status, n]) => [{ status }, n]));
  gauge('flowbridge_extraction_jobs_bound', 'Extraction jobs kept at most', [], () => (extractions() ? [[{}, extractions()!.maxJobs]] : []));

  // IDS alerts: sources and reasons are fixed sets; signatures are capped to the 100 most frequent.
  const alertStats = () => snap.alerts;
  counter('flowbridge_alerts_total', 'IDS alerts taken, by source (eve-file, eve-socket, api)', ['source'],
    () => Object.entries(alertStats()?.bySource ?? {}).map(([source, n]) => [{ source }, n]));
  counter('flowbridge_alerts_by_signature_total', 'IDS alerts taken, by signature id (the 100 most frequent)', ['signature_id'],
    () => (alertStats()?.bySignature ?? []).map((s) => [{ signature_id: String(s.signatureId) }, s.count]));
  counter('flowbridge_alerts_matched_total', 'Alerts joined to a flow', [], () => (alertStats() ? [[{}, alertStats()!.matched]] : []));
  counter('flowbridge_alerts_unmatched_total', 'Alerts whose flow was not found, by reason', ['reason'],
    () => Object.entries(alertStats()?.unmatched ?? {}).map(([reason, n]) => [{ reason }, n ?? 0]));
  counter('flowbridge_alerts_rejected_total', 'EVE lines or alert records refused, by reason', ['reason'],
    () => Object.entries(alertStats()?.rejected ?? {}).map(([reason, n]) => [{ reason }, n ?? 0]));
  counter('flowbridge_alerts_skipped_total', 'EVE records of other event types, skipped, by type (the first 50)', ['event_type'],
    () => Object.entries(alertStats()?.skippedByEventType ?? {}).slice(0, 50).map(([event_type, n]) => [{ event_type }, n]));
  gauge('flowbridge_alerts_stored', 'Alerts kept in the store', [], () => (alertStats() ? [[{}, alertStats()!.store.size]] : []));

  // Conditional pcap: one series per interface with a store.
  const stores = () => snap.conditional?.interfaces ?? [];
  gauge('flowbridge_conditional_alerted_flows', 'Flows whose packets the conditional store is writing now', ['interface'],
    () => stores().map((s) => [{ interface: s.interface }, s.alertedFlows]));
  counter('flowbridge_conditional_flows_alerted_total', 'Flows that became alerted (each once, however many alerts)', ['interface'],
    () => stores().map((s) => [{ interface: s.interface }, s.flowsAlerted]));
  counter('flowbridge_conditional_stored_bytes_total', 'Bytes of pcap records written to the conditional store', ['interface'],
    () => stores().map((s) => [{ interface: s.interface }, s.store.bytes]));
  counter('flowbridge_conditional_stored_packets_total', 'Packets written to the conditional store', ['interface'],
    () => stores().map((s) => [{ interface: s.interface }, s.store.packets]));
  gauge('flowbridge_conditional_disk_bytes', 'Bytes the conditional store holds on disk', ['interface'],
    () => stores().map((s) => [{ interface: s.interface }, s.store.diskBytes]));
  gauge('flowbridge_conditional_stored_share_ratio', 'Bytes stored by conditional pcap over bytes captured on its interfaces', [],
    () => (snap.conditional?.interfaces.length ? [[{}, snap.conditional.storedShare]] : []));
  counter('flowbridge_conditional_rotations_total', 'Files of the conditional store deleted by its size bound', ['interface'],
    () => stores().map((s) => [{ interface: s.interface }, s.store.deletedFiles]));

  gauge('flowbridge_flows_active', 'Flows in the table, by how they were seen', ['interface', 'seen_by'],
    () => all().flatMap((i) => entries(i, 'seen_by', i.flows.bySeen)));
  gauge('flowbridge_flow_table_bound_flows', 'Bound of the flow table', ['interface'],
    () => all().map((i) => [{ interface: i.name }, i.flows.bound]));
  counter('flowbridge_flow_table_evictions_total', 'Flows evicted because the table was full', ['interface'],
    () => all().map((i) => [{ interface: i.name }, i.flows.evicted]));
  counter('flowbridge_flow_table_expired_total', 'Flows removed after their idle timeout or grace period', ['interface'],
    () => all().map((i) => [{ interface: i.name }, i.flows.expired]));

  // The other bounded tables of each interface (exporters, learned field ids, the
  // hand-off, host interfaces, listening ports): a bounded set of `table` names.
  const tables = () => all().flatMap((i) => Object.entries(i.tables).map(([table, b]) => ({ labels: { interface: i.name, table }, b })));
  gauge('flowbridge_table_entries', 'Entries in a bounded table', ['interface', 'table'], () => tables().map((t) => [t.labels, t.b.size]));
  gauge('flowbridge_table_bound_entries', 'Bound of a table', ['interface', 'table'], () => tables().map((t) => [t.labels, t.b.max]));
  counter('flowbridge_table_drops_total', 'Entries refused or evicted because a table was full', ['interface', 'table'], () => tables().map((t) => [t.labels, t.b.dropped]));

  // The exporter hosts' own interface counters, as they reported them last: a
  // counter going back is the host's reset, which Prometheus' rate() handles.
  const hostCounter = (what: keyof DirectionCounters, name: string, help: string) =>
    counter(name, help, ['interface', 'host', 'if_name', 'direction'], () => snap.hosts.flatMap((h) =>
      (['in', 'out'] as const).flatMap((direction): Sample[] => {
        const v = h[direction][what];
        return v === undefined ? [] : [[{ interface: h.iface, host: h.host, if_name: h.ifName, direction }, v]];
      })));
  hostCounter('bytes', 'flowbridge_host_interface_bytes_total', 'Bytes through an exporter host\'s interface, as the host counts them');
  hostCounter('packets', 'flowbridge_host_interface_packets_total', 'Packets through an exporter host\'s interface, as the host counts them');
  hostCounter('errors', 'flowbridge_host_interface_errors_total', 'Errors on an exporter host\'s interface, as the host counts them');
  hostCounter('drops', 'flowbridge_host_interface_drops_total', 'Packets an exporter host\'s interface discarded (hosts that report ifInDiscards/ifOutDiscards)');

  // The merged view: traffic of the active flows by the process that owns them.
  gauge('flowbridge_process_flow_bytes', 'Bytes of the active flows owned by a process (top N, the rest as other)', ['interface', 'process'],
    () => snap.processes.map((t) => [{ interface: t.iface, process: t.process }, t.bytes]));
  gauge('flowbridge_process_flow_packets', 'Packets of the active flows owned by a process (top N, the rest as other)', ['interface', 'process'],
    () => snap.processes.map((t) => [{ interface: t.iface, process: t.process }, t.packets]));

  // The web side (src/api/): requests a bound refused, sign-ins that failed or were throttled, sessions.
  if (web) {
    const read = (f: (s: WebStats) => Sample[]) => () => f(web());
    counter('flowbridge_http_refused_total', 'Requests refused by a bound before their handler ran, by reason', ['reason'], read((s) => Object.entries(s.refused).map(([reason, n]) => [{ reason }, n])));
    counter('flowbridge_login_failures_total', 'Failed sign-ins, by reason', ['reason'], read((s) => Object.entries(s.loginFailures).map(([reason, n]) => [{ reason }, n])));
    counter('flowbridge_login_throttled_total', 'Sign-ins answered 429 after too many recent failures from the address or for the user name', [], read((s) => [[{}, s.loginThrottled]]));
    gauge('flowbridge_pcap_streams', 'Packet downloads streaming now', [], read((s) => [[{}, s.pcapStreams]]));
    // Its bounded tables: the page sessions and the sign-in throttle's keys.
    const webTables = (s: WebStats) => [['sessions', s.sessions], ['login-throttle', s.throttle]] as const;
    gauge('flowbridge_web_table_entries', 'Entries in a bounded table of the web side', ['table'], read((s) => webTables(s).map(([table, b]) => [{ table }, b.size])));
    gauge('flowbridge_web_table_bound_entries', 'Bound of a table of the web side', ['table'], read((s) => webTables(s).map(([table, b]) => [{ table }, b.max])));
    counter('flowbridge_web_table_drops_total', 'Entries evicted because a table of the web side was full (the oldest session or throttle key)', ['table'], read((s) => webTables(s).map(([table, b]) => [{ table }, b.dropped])));
  }

  // Scale-out through NATS (--nats): src/scaleout/metrics.ts.
  registerScaleOutMetrics(counter, gauge, () => snap.scaleout);

  gauge('flowbridge_uptime_seconds', 'Seconds since the collector started', [], () => [[{}, (Date.now() - telemetry.startedAt) / 1000]]);

  return {
    contentType: registry.contentType,
    metrics() {
      const interfaces = telemetry.interfaces();
      snap = {
        interfaces,
        // Walks every flow: once per scrape.
        processes: interfaces.flatMap((i) => telemetry.processTraffic(i.id).map((t) => ({ iface: i.name, ...t }))),
        hosts: interfaces.flatMap((i) => (telemetry.hostInterfaces(i.id) ?? []).map((h) => ({ iface: i.name, ...h }))),
        extractions: telemetry.extractions?.(),
        alerts: telemetry.alerts?.(),
        conditional: telemetry.conditional?.(),
        scaleout: telemetry.scaleout?.(),
      };
      return registry.metrics();
    },
  };
}
