// Capture benchmark: UDP offered at fixed rates on `lo`, from the bench's own ports
// (17100-17163 → 17001, so the filter sees nothing else), counted three ways one after
// the other at each rate: packets that reached the flow table of our real
// PacketInterface (capture process → decode → per-flow deltas → flow table), a bare
// `cap` loop that only counts, and `tcpdump -w /dev/null`.
import { fork } from 'node:child_process';
import { PacketInterface } from '../src/interfaces/packet-interface.ts';
import { TSX_LOADER } from '../src/runtime/ts-worker.ts';
import { finished, lastJson, onCleanup } from './children.ts';
import { offerFilter, offerUdp, settled, sleep, tcpdumpWhileOffered, type UdpOffer } from './udp-offer.ts';

const OFFER: UdpOffer = { dstPort: 17001, srcPort: 17100, flows: 64, seconds: 3, payload: 64 };
const FILTER = offerFilter(OFFER);
/** Kernel capture buffer for all three: PacketInterface's default. */
const BUFFER_BYTES = 32 * 1024 * 1024;
/** After the sender stops: counts that have not moved for this long are final. */
const QUIET_MS = 500;

export interface Counted {
  /** Packets the generator sent during this method's own run. */
  sent: number;
  sendSeconds: number;
  captured: number;
  /** Drops the method itself reports (kernel ring), when it does. */
  kernelDrops?: number;
}

export interface CaptureRow {
  /** The rate asked of the sender; 0 = as fast as it can. */
  offeredPps: number;
  flowbridge: Counted;
  bareCap: Counted;
  tcpdump: Counted;
}

async function ours(udpgen: string, pps: number): Promise<Counted> {
  const lo = new PacketInterface({ id: 0, name: 'lo', device: 'lo', filter: FILTER, bufferBytes: BUFFER_BYTES });
  const unregister = onCleanup(() => lo.stop());
  try {
    await lo.start();
    const g = await offerUdp(udpgen, OFFER, pps);
    const inFlows = () => lo.flows.query({ port: OFFER.dstPort, limit: 10 * OFFER.flows }).flows.reduce((a, f) => a + f.packets, 0);
    const captured = await settled(inFlows, QUIET_MS);
    return { sent: g.sent, sendSeconds: g.seconds, captured, kernelDrops: lo.capture().kernelDrops };
  } finally {
    unregister();
    await lo.stop();
  }
}

async function bareCap(udpgen: string, pps: number): Promise<Counted> {
  const child = fork(new URL('./bare-cap.ts', import.meta.url).pathname, ['lo', FILTER, String(BUFFER_BYTES)], {
    execArgv: ['--import', TSX_LOADER],
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const unregister = onCleanup(() => void child.kill('SIGKILL'));
  try {
    const done = finished(child, 60_000);
    await new Promise((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`bare cap loop exited (${code}) before capturing`)));
    });
    const g = await offerUdp(udpgen, OFFER, pps);
    await sleep(QUIET_MS);
    child.kill('SIGTERM');
    const r = lastJson<{ captured: number }>((await done).stdout);
    return { sent: g.sent, sendSeconds: g.seconds, captured: r.captured };
  } finally {
    unregister();
  }
}

async function tcpdump(udpgen: string, pps: number): Promise<Counted> {
  const t = await tcpdumpWhileOffered(udpgen, OFFER, pps, '/dev/null', BUFFER_BYTES, QUIET_MS);
  const captured = Number(/(\d+) packets? captured/.exec(t.stderr)?.[1] ?? NaN);
  return { sent: t.sent, sendSeconds: t.seconds, captured, kernelDrops: t.kernelDrops };
}

export async function capture(udpgen: string, rates: number[], log: (line: string) => void): Promise<CaptureRow[]> {
  const rows: CaptureRow[] = [];
  for (const pps of rates) {
    const row: CaptureRow = { offeredPps: pps, flowbridge: await ours(udpgen, pps), bareCap: await bareCap(udpgen, pps), tcpdump: await tcpdump(udpgen, pps) };
    rows.push(row);
    const f = (c: Counted) => `${c.captured}/${c.sent}${c.kernelDrops ? ` (kernel drops ${c.kernelDrops})` : ''}`;
    log(`  capture at ${pps || 'flat-out'} pps: flowbridge ${f(row.flowbridge)}, bare cap ${f(row.bareCap)}, tcpdump ${f(row.tcpdump)}`);
  }
  return rows;
}
