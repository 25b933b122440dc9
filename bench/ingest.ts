// Ingest benchmark: the C load generator offers fixture events to the real pipeline
// (libzmq receive → decode → validate → normalise → dispatch → merge into the flow
// table); the highest offered rate at which every event arrives is the figure. The
// C subscriber that only counts gives the transport ceiling in the same run.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { resolveConfig } from '../src/config.ts';
import { startFlowbridge } from '../src/flowbridge.ts';
import type { ZmqInterface } from '../src/interfaces/interface.ts';

const run = promisify(execFile);
const FIXTURES = join(import.meta.dirname, '..', '..', 'shared', 'fixtures', 'events');
const EVENTS = ['ebpflowexport-connect-docker', 'ebpflowexport-accept', 'ebpflowexport-udp-send-ipv6-k8s', 'netstat-established', 'nprobe-mini-connect'].map((n) => join(FIXTURES, `${n}.json`));
const PORT = 17000;
const STEP_SECONDS = 3;

export interface IngestScenario {
  name: string;
  layout: 0 | 3;
  batch: number;
  /** First offered rate, in events/s. */
  startEventsPerSecond: number;
}

export interface IngestResult {
  scenario: string;
  /**
   * Highest sustained events/s with every event merged: events merged divided by the
   * time from the first send to the last merge (so a backlog drained after the sender
   * stopped does not count as speed).
   */
  eventsPerSecond: number;
  /** The transport ceiling: events/s the C subscriber receives. */
  ceilingEventsPerSecond: number;
  steps: { offered: number; sent: number; delivered: number; lost: number; rejected: number; drainSeconds: number; sustained: number }[];
}

async function ceiling(tools: { loadgen: string; sub: string }, s: IngestScenario): Promise<number> {
  const endpoint = `tcp://127.0.0.1:${PORT + 1}`;
  const sub = run(tools.sub, [endpoint, '2']);
  await new Promise((r) => setTimeout(r, 200));
  await run(tools.loadgen, [endpoint, String(s.layout), String(s.batch), '0', '3', ...EVENTS]);
  const { stdout } = await sub;
  const m = /received (\d+) in ([\d.]+) s/.exec(stdout)!;
  return (Number(m[1]) / Number(m[2])) * s.batch;
}

export async function ingest(tools: { loadgen: string; sub: string }, s: IngestScenario, log: (l: string) => void): Promise<IngestResult> {
  const config = resolveConfig({}, {
    interfaces: [`tcp://127.0.0.1:${PORT}c`],
    dataDir: mkdtempSync(join(tmpdir(), 'fb-bench-')),
    flowTable: { maxFlows: 1_000_000 },
  });
  const fb = await startFlowbridge(config, { http: false });
  const zmq = fb.registry.zmqInterfaces()[0] as ZmqInterface & { collector: { refreshStats(): Promise<unknown> } };
  const totals = async () => {
    await zmq.collector.refreshStats();
    const c = zmq.collectorStats();
    const d = fb.dispatcher.stats().find((x) => x.interfaceId === zmq.id)!;
    const rejected = Object.values(c.rejected).reduce((a, b) => a + (b ?? 0), 0);
    const accepted = Object.values(c.events).reduce((a, b) => a + b, 0);
    return { accepted, rejected, merged: d.delivered.home - d.queueSize, dropped: d.dropped['queue-full'] };
  };
  const steps: IngestResult['steps'] = [];
  const step = async (eventsPerSecond: number) => {
    const before = await totals();
    const msgRate = Math.round(eventsPerSecond / s.batch);
    const started = performance.now();
    const { stdout } = await run(tools.loadgen, [`tcp://127.0.0.1:${PORT}`, String(s.layout), String(s.batch), String(msgRate), String(STEP_SECONDS), ...EVENTS]);
    const [, sentMessages, offset] = /sent (\d+) offset ([\d.]+)/.exec(stdout)!;
    const sent = Number(sentMessages) * s.batch;
    // Let the pipeline finish what it has queued (libzmq, hand-off, dispatch): wait
    // until nothing moves for half a second, so the next step starts from empty.
    const senderDone = performance.now();
    let after = await totals();
    let lastMove = senderDone;
    for (let quiet = 0, i = 0; quiet < 5 && i < 300; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const next = await totals();
      const moved = next.merged !== after.merged || next.accepted !== after.accepted;
      if (moved) lastMove = performance.now();
      quiet = moved ? 0 : quiet + 1;
      after = next;
    }
    const delivered = after.merged - before.merged;
    // From the loadgen's first send (it reports how long it prepared) to the last merge.
    const busySeconds = (lastMove - started) / 1000 - Number(offset);
    const r = {
      offered: eventsPerSecond, sent, delivered, lost: sent - delivered, rejected: after.rejected - before.rejected,
      drainSeconds: Math.max(0, (lastMove - senderDone) / 1000), sustained: Math.min(eventsPerSecond, delivered / busySeconds),
    };
    steps.push(r);
    log(`  ${s.name}: offered ${Math.round(eventsPerSecond)} ev/s, sent ${sent}, merged ${delivered}, rejected ${r.rejected}, drained ${r.drainSeconds.toFixed(2)} s after the sender, sustained ${Math.round(r.sustained)} ev/s`);
    return r.lost === 0 && r.rejected === 0;
  };
  // Warm up (connection, subscription, JIT) with a short run whose figures are not kept.
  await run(tools.loadgen, [`tcp://127.0.0.1:${PORT}`, String(s.layout), String(s.batch), String(Math.round(20_000 / s.batch)), '1', ...EVENTS]);
  await new Promise((r) => setTimeout(r, 500));
  // Grow the rate until events are lost, then narrow down between the last good and first bad.
  let good = 0;
  let bad = 0;
  for (let rate = s.startEventsPerSecond; ; rate = Math.round(rate * 1.6)) {
    if (await step(rate)) good = rate;
    else { bad = rate; break; }
    if (rate > 5_000_000) break;
  }
  for (let i = 0; i < 3 && bad > 0; i++) {
    const mid = Math.round((good + bad) / 2);
    if (await step(mid)) good = mid;
    else bad = mid;
  }
  await fb.stop();
  const sustained = Math.max(0, ...steps.filter((x) => x.lost === 0 && x.rejected === 0).map((x) => x.sustained));
  return { scenario: s.name, eventsPerSecond: Math.round(sustained), ceilingEventsPerSecond: await ceiling(tools, s), steps };
}
