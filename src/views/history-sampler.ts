// Feeds the traffic history once a second, just after each second ends: the pipeline's
// cumulative counters (telemetry) become what moved in the second that just ended.
import type { Telemetry, InterfaceTelemetry } from '../model/telemetry.ts';
import type { InterfaceSample, TrafficHistory } from './traffic-history.ts';

const sum = (r: Record<string, number | undefined> | undefined) => Object.values(r ?? {}).reduce<number>((a, b) => a + (b ?? 0), 0);

/** One interface's cumulative counters now: captured traffic for a packet interface, the netstat traffic of its flows' processes for a ZMQ one. */
export function interfaceSample(t: InterfaceTelemetry, processes: InterfaceSample['processes']): InterfaceSample {
  const fromProcesses = processes.reduce((a, p) => ({ bytes: a.bytes + p.bytes, packets: a.packets + p.packets }), { bytes: 0, packets: 0 });
  return {
    id: t.id,
    bytes: t.capture ? t.capture.bytes : fromProcesses.bytes,
    packets: t.capture ? t.capture.packets : fromProcesses.packets,
    flows: t.flows.active,
    eventsAccepted: t.collector ? sum(t.collector.events) : sum(t.dispatch?.delivered),
    eventsRejected: t.collector ? sum(t.collector.rejected) : 0,
    eventsDropped: sum(t.dispatch?.dropped) + (t.collector?.lostMessages ?? 0),
    processes,
  };
}

/** Samples every second (just after the boundary) until the returned stop is called. */
export function startHistorySampler(telemetry: Telemetry, history: TrafficHistory, graceMs = 20): () => void {
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    const now = Date.now();
    const next = Math.floor(now / 1000) * 1000 + 1000 + graceMs;
    timer = setTimeout(tick, next - now);
    timer.unref();
  };
  const tick = () => {
    const boundary = Math.floor((Date.now() - graceMs) / 1000) * 1000;
    try {
      history.record(boundary - 1000, telemetry.interfaces().map((t) => interfaceSample(t, telemetry.processTraffic(t.id))));
    } finally {
      schedule();
    }
  };
  schedule();
  return () => clearTimeout(timer);
}
