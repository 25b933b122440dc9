// Paced UDP on lo from bench/udpgen.c, tcpdump as the baseline while it is offered,
// waiting for a count to settle, and runs alternated with their baseline: what the
// capture, recording, push and conditional benchmarks do around the thing they measure.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished, lastJson, onCleanup, run, start } from './children.ts';
import { captureChildPid, processCpu } from './thread-cpu.ts';

export interface UdpOffer {
  dstPort: number;
  /** First source port; `flows` ports from there. */
  srcPort: number;
  flows: number;
  seconds: number;
  payload: number;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The BPF of an offer's packets. */
export const offerFilter = (o: UdpOffer) => `udp and dst port ${o.dstPort} and src portrange ${o.srcPort}-${o.srcPort + o.flows - 1}`;

/** Sends at `pps` packets per second (0: as fast as it can) for `o.seconds`; says what was sent. */
export async function offerUdp(udpgen: string, o: UdpOffer, pps: number): Promise<{ sent: number; seconds: number }> {
  const out = await run(udpgen, [o.dstPort, o.srcPort, o.flows, pps, o.seconds, o.payload].map(String), (o.seconds + 10) * 1000);
  return lastJson(out);
}

/** Waits until `read` has returned the same value for `quietMs` (at most 10 s); returns it. */
export async function settled(read: () => number, quietMs: number): Promise<number> {
  let last = read();
  let since = performance.now();
  const deadline = since + 10_000;
  while (performance.now() - since < quietMs && performance.now() < deadline) {
    await sleep(50);
    const next = read();
    if (next !== last) since = performance.now();
    last = next;
  }
  return last;
}

/**
 * Offers `pps` to this process's capture child and waits until `captured()` settles: what
 * was sent, what was counted, and the CPU (user + system, and system alone) the capture
 * process used from the first packet until then.
 */
export async function offerToCapture(udpgen: string, o: UdpOffer, pps: number, captured: () => number, quietMs: number): Promise<{ sent: number; seconds: number; captured: number; cpuSeconds: number; cpuSystemSeconds: number }> {
  const pid = captureChildPid();
  const cpu0 = processCpu(pid);
  const g = await offerUdp(udpgen, o, pps);
  const count = await settled(captured, quietMs);
  const cpu1 = processCpu(pid);
  const cpuSystemSeconds = cpu1.system - cpu0.system;
  return { ...g, captured: count, cpuSeconds: cpu1.user - cpu0.user + cpuSystemSeconds, cpuSystemSeconds };
}

/**
 * The baseline for a capture: `tcpdump -i lo` writing `file` (or /dev/null) with the same
 * BPF and kernel buffer while `o` is offered at `pps`; it is stopped `tailMs` after the
 * sender and says on stderr what it captured and what the kernel dropped.
 */
export async function tcpdumpWhileOffered(udpgen: string, o: UdpOffer, pps: number, file: string, bufferBytes: number, tailMs: number): Promise<{ sent: number; seconds: number; stderr: string; kernelDrops: number }> {
  const child = start('tcpdump', ['-i', 'lo', '-n', '-B', String(bufferBytes / 1024), '-w', file, offerFilter(o)]);
  const done = finished(child, 60_000);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d));
  for (let i = 0; !err.includes('listening on') && i < 100; i++) await sleep(50);
  if (!err.includes('listening on')) throw new Error(`tcpdump did not start: ${err.trim()}`);
  const g = await offerUdp(udpgen, o, pps);
  await sleep(tailMs);
  child.kill('SIGINT');
  // tcpdump prints its totals on stderr as it exits.
  const stderr = (await done).stderr;
  return { ...g, stderr, kernelDrops: Number(/(\d+) packets? dropped by kernel/.exec(stderr)?.[1] ?? NaN) };
}

/**
 * A measurement alternated with its baseline at every rate (baseline, with, with,
 * baseline: a neighbour's load falls on both alike), in a temporary directory removed
 * at the end; `run(pps, withIt, work)` measures once, `describe` logs it.
 */
export async function alternatingRuns<R>(name: string, rates: number[], run: (pps: number, withIt: boolean, work: string) => Promise<R>, describe: (r: R) => string, log: (line: string) => void): Promise<{ offeredPps: number; runs: R[] }[]> {
  const work = mkdtempSync(join(tmpdir(), `fb-bench-${name}-`));
  const unregister = onCleanup(() => rmSync(work, { recursive: true, force: true }));
  try {
    const rows: { offeredPps: number; runs: R[] }[] = [];
    for (const pps of rates) {
      const runs: R[] = [];
      for (const withIt of [false, true, true, false]) {
        const r = await run(pps, withIt, work);
        log(`  ${name} at ${pps} pps, ${describe(r)}`);
        runs.push(r);
      }
      rows.push({ offeredPps: pps, runs });
    }
    return rows;
  } finally {
    rmSync(work, { recursive: true, force: true });
    unregister();
  }
}
