// Runs the C load generator (loadgen.c) and the C subscriber (sub.c) and reads
// what they report.
import { finished, lastJson, run, start } from './children.ts';
import { flowFixtures } from './fixtures.ts';

export interface Offer {
  endpoint: string;
  /** 0: ebpflowexport's 40-byte v0 header; 3: the 36-byte v3 header with msg_id. */
  header: 0 | 3;
  batch: number;
  /** Messages per second; 0 = flat out. */
  rate: number;
  seconds: number;
  msgId?: number;
  sourceId?: number;
  /** The generator's send high-water mark, in messages (default: libzmq's 1000). */
  hwm?: number;
  /** Wait at the high-water mark instead of dropping (transport ceiling runs only). */
  noDrop?: boolean;
  /** Seconds to wait before the last message, so that it is not dropped after a burst that was (loadgen.c). */
  settle?: number;
}

/** What the generator reports (see loadgen.c). */
export interface Generated {
  sent: number;
  events: number;
  firstMsgId: number;
  lastMsgId: number;
  /** Seconds from its launch to its first send. */
  startOffset: number;
  sendSeconds: number;
  /** How long the last (never dropped) message waited for room after the window. */
  finalWaitSeconds: number;
}

/** Distinct flows the generated events cycle through: enough to make tables work, bounded. */
const FLOWS = 20_000;

function args(o: Offer): string[] {
  return [
    '--endpoint', o.endpoint, '--header', String(o.header), '--batch', String(o.batch),
    '--rate', String(Math.round(o.rate)), '--seconds', String(o.seconds),
    '--msg-id', String(o.msgId ?? 1), '--source-id', String(o.sourceId ?? 1), '--flows', String(FLOWS),
    '--hwm', String(o.hwm ?? 1000),
    ...(o.noDrop ? ['--no-drop'] : []),
    ...(o.settle ? ['--settle', String(o.settle)] : []),
    ...flowFixtures(),
  ];
}

/** Runs the generator to the end; resolves with its report. */
export async function offer(loadgen: string, o: Offer): Promise<Generated> {
  // Its last message may wait up to 30 s for room, then linger flushes for up to 10 s.
  const r = await finished(start(loadgen, args(o)), (o.seconds + 60) * 1000);
  if (r.code !== 0) throw new Error(`loadgen failed (${r.code}): ${r.stderr.trim()}`);
  return lastJson<Generated>(r.stdout);
}

/** A generator that has sent (or is sending) and keeps its connection until released. */
export interface HeldOffer {
  /** Resolves with the report once the send window and the last message are done. */
  report: Promise<Generated>;
  /** Lets the generator close its connection and exit (call once the receiver caught up). */
  release(): Promise<void>;
}

/**
 * Starts the generator with --hold: like a real producer it does not leave while the
 * collector still works through a backlog (closing then would discard the end of it).
 */
export function offerHeld(loadgen: string, o: Offer): HeldOffer {
  const child = start(loadgen, [...args(o), '--hold'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const done = finished(child, (o.seconds + 300) * 1000);
  let stdout = '';
  const report = new Promise<Generated>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d;
      if (stdout.includes('\n')) resolve(lastJson<Generated>(stdout));
    });
    void done.then((r) => reject(new Error(`loadgen ended before reporting (${r.code}): ${r.stderr.trim()}`)), reject);
  });
  return {
    report,
    async release() {
      child.stdin!.end();
      const r = await done;
      if (r.code !== 0) throw new Error(`loadgen failed (${r.code}): ${r.stderr.trim()}`);
    },
  };
}

/**
 * The transport ceiling: the C subscriber binds `endpoint` and only counts while the
 * generator sends flat out, held back by the subscriber's pace rather than dropping
 * (so what it receives is what the transport carries on this machine).
 */
export interface Ceiling {
  messagesPerSecond: number;
  eventsPerSecond: number;
  /** CPU time the C subscriber spent per event received, in µs (all its threads). */
  cpuPerEventUs: number;
}

export async function transportCeiling(tools: { loadgen: string; sub: string }, o: Omit<Offer, 'rate' | 'noDrop'>): Promise<Ceiling> {
  const sub = run(tools.sub, [o.endpoint, String(o.seconds + 5)], (o.seconds + 30) * 1000);
  // The generator waits for the subscriber's subscription, so no start-up race here.
  await offer(tools.loadgen, { ...o, rate: 0, noDrop: true });
  const r = lastJson<{ received: number; seconds: number; cpuSeconds: number }>(await sub);
  const messagesPerSecond = r.seconds > 0 ? r.received / r.seconds : 0;
  const events = r.received * o.batch;
  return {
    messagesPerSecond: Math.round(messagesPerSecond),
    eventsPerSecond: Math.round(messagesPerSecond * o.batch),
    cpuPerEventUs: events > 0 ? Math.round((r.cpuSeconds / events) * 1e7) / 10 : 0,
  };
}
