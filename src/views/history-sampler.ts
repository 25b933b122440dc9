// Feeds the traffic history once a second, just after each second ends: the pipeline's
// cumulative counters (telemetry) become what moved in the second that just ended. The
// tick runs `graceMs` after the boundary so a capture batch of the ending second is in;
// what arrives within those first ms of the next second is counted in the one before.
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
  /** The boundary the next tick is for. */
  let boundary = Math.floor(Date.now() / 1000) * 1000 + 1000;
  const schedule = () => {
    const now = Date.now();
    // A late tick (a busy event loop) skips to the next boundary still ahead.
    while (boundary + graceMs <= now - 1000) boundary += 1000;
    timer = setTimeout(tick, Math.max(0, boundary + graceMs - now));
    timer.unref();
  };
  // The boundary is the one the tick was scheduled for, not derived from the clock when it
  // fires: a timer firing a millisecond early must not put a whole second in the wrong bucket.
  const tick = () => {
    try {
      history.record(boundary - 1000, telemetry.interfaces().map((t) => interfaceSample(t, telemetry.processTraffic(t.id))));
    } finally {
      boundary += 1000;
      schedule();
    }
  };
  schedule();
  return () => clearTimeout(timer);
}
