// /metrics: every counter the pipeline keeps, read at scrape time (nothing runs on
// the hot path). Conventional names: prefix flowbridge_, units in the name, _total
// for counters. Per-process series are capped to the top N processes by bytes, the
// rest summed as process="other", and vanish with their flows: cardinality stays bounded.
import { Counter, Gauge, Registry } from 'prom-client';
import type { ApiContext } from '../api/context.ts';
import type { PacketInterface, ZmqInterface } from '../interfaces/interface.ts';

type Labels = Record<string, string>;
type Sample = [Labels, number];

export function createMetricsRegistry(ctx: ApiContext): Registry {
  const registry = new Registry();
  const zmqs = () => ctx.registry.zmqInterfaces() as ZmqInterface[];
  const packets = () => ctx.registry.packetInterfaces() as PacketInterface[];

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
    () => zmqs().flatMap((z) => entries(z, 'topic', z.collectorStats().messages)));
  counter('flowbridge_events_accepted_total', 'Events accepted after validation, by kind', ['interface', 'kind'],
    () => zmqs().flatMap((z) => entries(z, 'kind', z.collectorStats().events)));
  counter('flowbridge_events_rejected_total', 'Messages or events rejected, by reason', ['interface', 'reason'],
    () => zmqs().flatMap((z) => entries(z, 'reason', z.collectorStats().rejected)));
  counter('flowbridge_zmq_lost_messages_total', 'Messages lost according to msg_id gaps', ['interface'],
    () => zmqs().map((z) => [{ interface: z.name }, z.collectorStats().lostMessages]));
  gauge('flowbridge_exporters', 'Producers seen in the last 10 s', ['interface'],
    () => zmqs().map((z) => [{ interface: z.name }, z.collectorStats().exporters.length]));

  const byId = (id: number) => ctx.registry.resolve(id)!;
  counter('flowbridge_dispatch_deliveries_total', 'Events delivered to an interface, by route (home, name, companion)', ['interface', 'route'],
    () => ctx.dispatcher.stats().flatMap((s) => entries(byId(s.interfaceId), 'route', s.delivered)));
  counter('flowbridge_dispatch_drops_total', 'Events not delivered, by reason', ['interface', 'reason'],
    () => ctx.dispatcher.stats().flatMap((s) => entries(byId(s.interfaceId), 'reason', s.dropped)));
  gauge('flowbridge_dispatch_queue_events', 'Events waiting to be merged', ['interface'],
    () => ctx.dispatcher.stats().map((s) => [{ interface: byId(s.interfaceId).name }, s.queueSize]));
  gauge('flowbridge_dispatch_queue_bound_events', 'Bound of the dispatch queue', ['interface'],
    () => ctx.dispatcher.stats().map((s) => [{ interface: byId(s.interfaceId).name }, s.queueBound]));

  counter('flowbridge_capture_packets_total', 'Packets captured', ['interface'],
    () => packets().map((p) => [{ interface: p.name }, p.capture().packets]));
  counter('flowbridge_capture_bytes_total', 'Bytes captured (wire length)', ['interface'],
    () => packets().map((p) => [{ interface: p.name }, p.capture().bytes]));
  counter('flowbridge_capture_errors_total', 'Captured packets that could not be used, by reason', ['interface', 'reason'],
    () => packets().flatMap((p) => entries(p, 'reason', p.capture().errors)));

  gauge('flowbridge_flows_active', 'Flows in the table, by how they were seen', ['interface', 'seen_by'],
    () => ctx.registry.list().flatMap((i) => entries(i, 'seen_by', i.flows.stats().bySeen)));
  gauge('flowbridge_flow_table_bound_flows', 'Bound of the flow table', ['interface'],
    () => ctx.registry.list().map((i) => [{ interface: i.name }, i.flows.stats().bound]));
  counter('flowbridge_flow_table_evictions_total', 'Flows evicted because the table was full', ['interface'],
    () => ctx.registry.list().map((i) => [{ interface: i.name }, i.flows.stats().evicted]));
  counter('flowbridge_flow_table_expired_total', 'Flows removed after their idle timeout or grace period', ['interface'],
    () => ctx.registry.list().map((i) => [{ interface: i.name }, i.flows.stats().expired]));

  // The merged view: traffic of the active flows by the process that owns them.
  // Both series read one aggregation per scrape (it walks every flow).
  let memo: { at: number; rows: { iface: string; process: string; bytes: number; packets: number }[] } | undefined;
  const processTraffic = () => {
    const now = Date.now();
    if (!memo || now - memo.at > 1_000) {
      memo = { at: now, rows: ctx.registry.list().flatMap((i) => i.flows.processTraffic(ctx.topProcesses).map((t) => ({ iface: i.name, ...t }))) };
    }
    return memo.rows;
  };
  gauge('flowbridge_process_flow_bytes', 'Bytes of the active flows owned by a process (top N, the rest as other)', ['interface', 'process'],
    () => processTraffic().map((t) => [{ interface: t.iface, process: t.process }, t.bytes]));
  gauge('flowbridge_process_flow_packets', 'Packets of the active flows owned by a process (top N, the rest as other)', ['interface', 'process'],
    () => processTraffic().map((t) => [{ interface: t.iface, process: t.process }, t.packets]));

  gauge('flowbridge_uptime_seconds', 'Seconds since the collector started', [], () => [[{}, (Date.now() - ctx.startedAt) / 1000]]);
  return registry;
}
