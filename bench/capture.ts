// Capture benchmark: UDP offered at fixed rates on `lo`, from the bench's own ports
// (17100-17163 → 17001, so the filter sees nothing else), counted three ways one after
// the other at each rate: packets that reached the flow table of our real
// PacketInterface (capture process → decode → per-flow deltas → flow table), a bare
// `cap` loop that only counts, and `tcpdump -w /dev/null`.
import { fork } from 'node:child_process';
import { PacketInterface } from '../src/interfaces/packet-interface.ts';
import { TSX_LOADER } from '../src/runtime/ts-worker.ts';
import { finished, lastJson, onCleanup, run, start } from './children.ts';

const DST_PORT = 17001;
const SRC_PORT = 17100;
const FLOWS = 64;
const FILTER = `udp and dst port ${DST_PORT} and src portrange ${SRC_PORT}-${SRC_PORT + FLOWS - 1}`;
const SECONDS = 3;
const PAYLOAD = 64;
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function offer(udpgen: string, pps: number): Promise<{ sent: number; seconds: number }> {
  const out = await run(udpgen, [DST_PORT, SRC_PORT, FLOWS, pps, SECONDS, PAYLOAD].map(String), (SECONDS + 10) * 1000);
  return lastJson(out);
}

/** Waits until `read` has returned the same value for QUIET_MS (at most 10 s). */
async function settled(read: () => number): Promise<number> {
  let last = read();
  let since = performance.now();
  const deadline = since + 10_000;
  while (performance.now() - since < QUIET_MS && performance.now() < deadline) {
    await sleep(50);
    const next = read();
    if (next !== last) since = performance.now();
    last = next;
  }
  return last;
}

async function ours(udpgen: string, pps: number): Promise<Counted> {
  const lo = new PacketInterface({ id: 0, name: 'lo', device: 'lo', filter: FILTER, bufferBytes: BUFFER_BYTES });
  const unregister = onCleanup(() => lo.stop());
  try {
    await lo.start();
    const g = await offer(udpgen, pps);
    const inFlows = () => lo.flows.query({ port: DST_PORT, limit: 10 * FLOWS }).flows.reduce((a, f) => a + f.packets, 0);
    const captured = await settled(inFlows);
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
    const g = await offer(udpgen, pps);
    await sleep(QUIET_MS);
    child.kill('SIGTERM');
    const r = lastJson<{ captured: number }>((await done).stdout);
    return { sent: g.sent, sendSeconds: g.seconds, captured: r.captured };
  } finally {
    unregister();
  }
}

async function tcpdump(udpgen: string, pps: number): Promise<Counted> {
  const child = start('tcpdump', ['-i', 'lo', '-n', '-B', String(BUFFER_BYTES / 1024), '-w', '/dev/null', FILTER]);
  const done = finished(child, 60_000);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d));
  for (let i = 0; !err.includes('listening on') && i < 100; i++) await sleep(50);
  if (!err.includes('listening on')) throw new Error(`tcpdump did not start: ${err.trim()}`);
  const g = await offer(udpgen, pps);
  await sleep(QUIET_MS);
  child.kill('SIGINT');
  // tcpdump prints its totals on stderr as it exits.
  const out = (await done).stderr;
  const captured = Number(/(\d+) packets? captured/.exec(out)?.[1] ?? NaN);
  const kernelDrops = Number(/(\d+) packets? dropped by kernel/.exec(out)?.[1] ?? NaN);
  return { sent: g.sent, sendSeconds: g.seconds, captured, kernelDrops };
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
