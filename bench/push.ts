// Push targets benchmark: UDP offered on `lo` at rising rates (udpgen.c), captured by a
// real PacketInterface with recording on, (a) alone (the baseline) and (b) with two push
// targets in FILE mode beside it: `all` (every packet, --split-time 1e9) and `half` (a BPF
// that keeps 32 of the 64 flows, --split-byte 64e6). Figures: the share of sent packets in
// the files each wrote (counted by capinfos; `half` against the packets of its flows that
// were sent), and the CPU time of the capture process per packet captured, from
// /proc/<pid>/stat of the capture child. Each rate runs a, b, b, a (drift on a shared
// machine falls on both); the figures are the sums over both runs of each.
// Everything is written under one temporary directory, deleted as it goes and at the end.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { PacketInterface } from '../src/interfaces/packet-interface.ts';
import type { PushSinkConfig, PushTargetStats } from '../src/model/push.ts';
import type { RecordingSettings } from '../src/model/recording.ts';
import { pushLogPath } from '../src/push/push-log.ts';
import { DEFAULT_SPOOL_BYTES, parseSplit, pathParts } from '../src/push/target.ts';
import { onCleanup } from './children.ts';
import { capinfosCount, pcapFiles } from './pcap-files.ts';
import { alternatingRuns, offerFilter, offerToCapture, type UdpOffer } from './udp-offer.ts';

/** UDP payload 300 (a 342-byte frame), as the recording bench; its own ports. */
const OFFER: UdpOffer = { dstPort: 17003, srcPort: 17300, flows: 64, seconds: 3, payload: 300 };
export const PUSH_PAYLOAD = OFFER.payload;
export const PUSH_FLOWS = OFFER.flows;
const FILTER = offerFilter(OFFER);
/** udpgen.c sends packet i from source port srcPort + i % flows: this keeps flows 0..31. */
const HALF_FLOWS = 32;
export const HALF_BPF = `udp and src portrange ${OFFER.srcPort}-${OFFER.srcPort + HALF_FLOWS - 1}`;
export const TARGETS = [
  { desc: 'all', split: '--split-time 1e9', filterBpf: null },
  { desc: 'half', split: '--split-byte 64e6', filterBpf: HALF_BPF },
] as const;
const BUFFER_BYTES = 32 * 1024 * 1024;
const QUIET_MS = 500;
const MiB = 1024 * 1024;

export interface TargetWritten {
  desc: string;
  /** Packets the target should have written: every sent packet, or those of its flows. */
  expected: number;
  /** Packets in its closed files (capinfos), and those files. */
  written: number;
  files: number;
  /** Files left under their temporary name after the capture stopped. */
  unclosed: number;
  /** What the sink itself reported last. */
  stats?: PushTargetStats;
}

export interface PushRun {
  withPush: boolean;
  sent: number;
  sendSeconds: number;
  /** Packets the capture process read, and the kernel's drops. */
  captured: number;
  kernelDrops?: number;
  /** Packets in the recording's files (capinfos). */
  recorded: number;
  /** CPU seconds (user + system, all threads) of the capture process from the offer to the counts settling, and the system part. */
  cpuSeconds: number;
  cpuSystemSeconds: number;
  targets: TargetWritten[];
}

export interface PushRow {
  offeredPps: number;
  /** In the order run (a, b, b, a). */
  runs: PushRun[];
}

/** Packets udpgen.c sent from the `half` target's flows: packet i goes from flow i % flows. */
function sentInHalf(sent: number): number {
  const rounds = Math.floor(sent / OFFER.flows);
  return rounds * HALF_FLOWS + Math.min(sent % OFFER.flows, HALF_FLOWS);
}

/** A target's sink configuration, made as PushTargets.sinkConfig makes it (FILE mode, path `<dir>/<desc>`). */
function sinkConfig(work: string, t: (typeof TARGETS)[number]): PushSinkConfig {
  const { dir, prefix } = pathParts(join(work, t.desc, t.desc));
  return {
    desc: t.desc, mode: 'file', split: parseSplit(t.split, t.desc), fileName: '--filename-epoch-sec-startend', filterBpf: t.filterBpf,
    dir, prefix, spoolBytes: DEFAULT_SPOOL_BYTES, logPath: pushLogPath(join(work, 'log'), t.desc, Date.now()),
  };
}

async function runOnce(udpgen: string, pps: number, withPush: boolean, work: string): Promise<PushRun> {
  const recDir = join(work, 'recording');
  const recording: RecordingSettings = { dir: recDir, maxDiskBytes: 4 * 1024 * MiB, maxFileBytes: 256 * MiB, maxFileSeconds: 60, snaplen: 65535 };
  const push = withPush ? TARGETS.map((t) => sinkConfig(work, t)) : undefined;
  const lo = new PacketInterface({ id: 0, name: 'lo', device: 'lo', filter: FILTER, bufferBytes: BUFFER_BYTES, recording, push });
  const unregister = onCleanup(() => lo.stop());
  try {
    await lo.start();
    const g = await offerToCapture(udpgen, OFFER, pps, () => lo.capture().packets, QUIET_MS);
    const { captured, cpuSeconds, cpuSystemSeconds } = g;
    const kernelDrops = lo.capture().kernelDrops;
    await lo.stop();
    const stats = new Map(lo.pushStats().map((s) => [s.desc, s]));
    const rec = pcapFiles(recDir);
    const run: PushRun = {
      withPush, sent: g.sent, sendSeconds: g.seconds, captured, kernelDrops,
      recorded: await capinfosCount([...rec.closed, ...rec.parts]), cpuSeconds, cpuSystemSeconds, targets: [],
    };
    for (const t of withPush ? TARGETS : []) {
      const files = pcapFiles(join(work, t.desc));
      run.targets.push({
        desc: t.desc, expected: t.filterBpf ? sentInHalf(g.sent) : g.sent, written: await capinfosCount(files.closed),
        files: files.closed.length, unclosed: files.parts.length, stats: stats.get(t.desc),
      });
    }
    return run;
  } finally {
    unregister();
    await lo.stop();
    for (const d of ['recording', ...TARGETS.map((t) => t.desc), 'log']) rmSync(join(work, d), { recursive: true, force: true });
  }
}

const usPer = (r: PushRun) => (r.captured > 0 ? ((1e6 * r.cpuSeconds) / r.captured).toFixed(2) : 'n/a');

function describe(r: PushRun): string {
  const targets = r.targets.map((t) => ` ${t.desc} ${t.written}/${t.expected} in ${t.files} file(s)${t.unclosed ? ` (${t.unclosed} unclosed)` : ''}` +
    `${t.stats && Object.keys(t.stats.dropped).length ? ` dropped ${JSON.stringify(t.stats.dropped)}` : ''}`).join(',');
  return `${r.withPush ? 'recording + push' : 'recording alone'}: recorded ${r.recorded}/${r.sent}${r.kernelDrops ? ` (kernel drops ${r.kernelDrops})` : ''},${targets} ` +
    `CPU ${r.cpuSeconds.toFixed(2)} s (system ${r.cpuSystemSeconds.toFixed(2)}) = ${usPer(r)} µs/packet`;
}

/** Every rate: a, b, b, a in a temporary directory removed at the end. */
export function pushBench(udpgen: string, rates: number[], log: (line: string) => void): Promise<PushRow[]> {
  return alternatingRuns('push', rates, (pps, withIt, work) => runOnce(udpgen, pps, withIt, work), describe, log);
}
