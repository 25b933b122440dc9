// The scale-out part of /metrics (src/exporters/prometheus.ts registers it): the NATS
// connection, the outbox (size, bound, published, retried, dropped), the exported
// records, an ingest node's events by route and a capture node's consumers with their lag.
import type { ScaleOutStats } from './scaleout.ts';

type Labels = Record<string, string>;
type Sample = [Labels, number];
type Define = (name: string, help: string, labelNames: string[], read: () => Sample[]) => unknown;

const samples = (values: Record<string, number>, label: string, extra: Labels = {}): Sample[] => Object.entries(values).map(([k, v]) => [{ ...extra, [label]: k }, v]);

export function registerScaleOutMetrics(counter: Define, gauge: Define, read: () => ScaleOutStats | undefined): void {
  const on = (f: (s: ScaleOutStats) => Sample[]) => () => {
    const s = read();
    return s ? f(s) : [];
  };
  gauge('flowbridge_nats_connected', 'Connected to the NATS cluster with JetStream ready (1), or not (0: connecting, reconnecting, closed)', ['node', 'role', 'state'],
    on((s) => [[{ node: s.node, role: s.role, state: s.connection.state }, s.connection.state === 'connected' ? 1 : 0]]));
  counter('flowbridge_nats_reconnects_total', 'Times the NATS connection was lost and found again', [], on((s) => [[{}, s.connection.reconnects]]));
  gauge('flowbridge_nats_buffer_records', 'Records waiting in the outbox (NATS unreachable or slow), in flight included', [], on((s) => [[{}, s.outbox.size]]));
  gauge('flowbridge_nats_buffer_bound', 'Records the outbox holds at most (--nats-buffer)', [], on((s) => [[{}, s.outbox.bound]]));
  counter('flowbridge_nats_published_total', 'Messages JetStream acknowledged, by kind (flows, alerts, processes, events)', ['kind'], on((s) => samples(s.outbox.published, 'kind')));
  counter('flowbridge_nats_dropped_total', 'Records dropped because the outbox was full, by kind', ['kind'], on((s) => samples(s.outbox.dropped, 'kind')));
  counter('flowbridge_nats_publish_retries_total', 'Publishes that failed (timeout, no stream leader) and were sent again with the same message id', [], on((s) => [[{}, s.outbox.retries]]));
  counter('flowbridge_nats_failovers_total', 'Times JetStream failed through the connected server for 5 s (streams not ready, or publishing with nothing acknowledged) and the connection was moved to another server', [], on((s) => [[{}, s.connection.failovers]]));
  counter('flowbridge_nats_duplicates_total', 'Publishes JetStream recognised as a message id it already stored', [], on((s) => [[{}, s.outbox.duplicates]]));
  gauge('flowbridge_nats_publish_rate', 'Messages acknowledged per second over the last seconds', [], on((s) => [[{}, s.publishRate]]));
  counter('flowbridge_nats_flow_records_total', 'Flow records published, by reason (update, closed, idle, evicted, shutdown)', ['reason'],
    on((s) => samples({ update: s.flows.updates, ...s.flows.finals }, 'reason')));
  counter('flowbridge_nats_ingest_events_total', 'Ingest node: events published to capture nodes, by dispatch route (name, companion)', ['route'], on((s) => (s.ingest ? samples(s.ingest.published, 'route') : [])));
  counter('flowbridge_nats_ingest_not_published_total', 'Ingest node: events sent to no capture node, by reason (loopback, no-target, no-capture-node, buffer-full)', ['reason'],
    on((s) => (s.ingest ? samples(s.ingest.notPublished, 'reason') : [])));
  counter('flowbridge_nats_dispatch_settings_total', 'Mirrored marks and companions this node wrote to the dispatch bucket (written), applied from another node (adopted) or could not apply (refused)', ['action'],
    on((s) => (s.dispatchSettings ? samples({ written: s.dispatchSettings.written, adopted: s.dispatchSettings.adopted, refused: s.dispatchSettings.refused }, 'action') : [])));
  gauge('flowbridge_nats_dispatch_settings_pending', 'Mirrored marks and companions changed on this node and not yet in the dispatch bucket (NATS unreachable)', [],
    on((s) => (s.dispatchSettings ? [[{}, s.dispatchSettings.pending]] : [])));
  counter('flowbridge_nats_consumed_events_total', 'Capture node: events merged from the interface\'s durable consumer', ['interface'], on((s) => (s.consumers ?? []).map((c) => [{ interface: c.interface }, c.merged])));
  counter('flowbridge_nats_consumer_skipped_total', 'Capture node: events acknowledged without a merge, by reason (late, redelivered, not-an-event, merge-error; undecodable and not-an-envelope count messages)', ['interface', 'reason'],
    on((s) => (s.consumers ?? []).flatMap((c) => samples(c.skipped, 'reason', { interface: c.interface }))));
  gauge('flowbridge_nats_consumer_pending', 'Capture node: events in the stream for the interface not yet delivered (consumer lag)', ['interface'],
    on((s) => (s.consumers ?? []).map((c) => [{ interface: c.interface }, c.lag?.pending ?? 0])));
  gauge('flowbridge_nats_consumer_ack_pending', 'Capture node: events delivered and not yet acknowledged', ['interface'],
    on((s) => (s.consumers ?? []).map((c) => [{ interface: c.interface }, c.lag?.ackPending ?? 0])));
  gauge('flowbridge_nats_consume_rate', 'Capture node: events merged per second over the last seconds', [], on((s) => (s.consumeRate !== undefined ? [[{}, s.consumeRate]] : [])));
}
