// Conditional pcap benchmark: what checking every packet for alerted flows costs the
// capture. UDP offered on `lo` at rising rates (udpgen.c, 100 flows), captured by a real
// PacketInterface (a) alone (the baseline) and (b) with its conditional store on
// (sinkSettings: the defaults the collector runs with, 16 MiB / 5 s look-back) and 1 of
// the 100 flows alerted, told to the capture as the main process tells it when an alert
// matches (ConditionalPcap.matched → PacketInterface.alertFlows → 'conditional-flows').
// Figures: the share of sent packets the capture counted, the CPU time of the capture
// process per packet (/proc/<pid>/stat of the capture child), and for (b) the packets and
// bytes in the store (capinfos over its files) against all captured, which should be the
// alerted flow's share (1 %). Each rate runs a, b, b, a; the figures are sums over both
// runs of each. Everything is written under one temporary directory, deleted as it goes.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { sinkSettings } from '../src/conditional/conditional-settings.ts';
import { tupleKey } from '../src/flows/flow-key.ts';
import { PacketInterface } from '../src/interfaces/packet-interface.ts';
import type { ConditionalSinkSettings, ConditionalSinkStats } from '../src/model/conditional.ts';
import { onCleanup } from './children.ts';
import { capinfosTotals, pcapFiles } from './pcap-files.ts';
import { alternatingRuns, offerFilter, offerToCapture, sleep, type UdpOffer } from './udp-offer.ts';

/**
 * 300-byte UDP payloads (342-byte frames) from 100 flows, all inside 17700–17799: the
 * destination is the first flow's own source port, so flow 0 sends to itself and every
 * packet is delivered to that socket after the capture tap (dropped once its queue is full): no ICMP.
 */
const OFFER: UdpOffer = { dstPort: 17700, srcPort: 17700, flows: 100, seconds: 3, payload: 300 };
export const CONDITIONAL_OFFER = OFFER;
const FILTER = offerFilter(OFFER);
/** The alerted flows: 1 % of them (udpgen.c sends packet i from flow i % flows). */
export const ALERTED_FLOWS = [17];
const ALERTED_KEYS = ALERTED_FLOWS.map((i) => tupleKey(17, { ip: '127.0.0.1', port: OFFER.srcPort + i }, { ip: '127.0.0.1', port: OFFER.dstPort }));
/** Bound of the store: far above what a run writes, so nothing rotates away. */
const STORE_BYTES = 256 * 1024 * 1024;
const BUFFER_BYTES = 32 * 1024 * 1024;
const QUIET_MS = 500;

export interface ConditionalRun {
  withConditional: boolean;
  sent: number;
  sendSeconds: number;
  /** Packets and wire bytes the capture process read, and the kernel's drops. */
  captured: number;
  capturedBytes: number;
  kernelDrops?: number;
  /** CPU seconds (user + system, all threads) of the capture process from the offer to the counts settling, and the system part. */
  cpuSeconds: number;
  cpuSystemSeconds: number;
  /** (b) only: packets the alerted flows were sent, what the store's files hold (capinfos), and what the sink reported last. */
  alertedSent?: number;
  stored?: { packets: number; bytes: number; files: number; unclosed: number };
  sink?: ConditionalSinkStats;
  /** (b) only: every alerted key was a flow of the interface's flow table (the key the main process would name). */
  keysInTable?: boolean;
}

export interface ConditionalRow {
  offeredPps: number;
  /** In the order run (a, b, b, a). */
  runs: ConditionalRun[];
}


/** Packets udpgen.c sent from the alerted flows: packet i goes from flow i % flows. */
function sentInAlerted(sent: number): number {
  const rounds = Math.floor(sent / OFFER.flows);
  return ALERTED_FLOWS.reduce((n, i) => n + rounds + (sent % OFFER.flows > i ? 1 : 0), 0);
}

async function runOnce(udpgen: string, pps: number, withConditional: boolean, work: string): Promise<ConditionalRun> {
  const conditional: ConditionalSinkSettings | undefined = withConditional ? sinkSettings(work, 'lo', STORE_BYTES) : undefined;
  const lo = new PacketInterface({ id: 0, name: 'lo', device: 'lo', filter: FILTER, bufferBytes: BUFFER_BYTES, conditional });
  const unregister = onCleanup(() => lo.stop());
  try {
    await lo.start();
    if (withConditional) {
      // As ConditionalPcap.matched does for an alert's flow on this interface; wait for the capture to say it follows it.
      lo.alertFlows(ALERTED_KEYS);
      const deadline = performance.now() + 5_000;
      while ((lo.conditional()?.alertedFlows ?? 0) < ALERTED_KEYS.length && performance.now() < deadline) await sleep(20);
      if ((lo.conditional()?.alertedFlows ?? 0) < ALERTED_KEYS.length) throw new Error('the capture did not report the alerted flow within 5 s');
    }
    const g = await offerToCapture(udpgen, OFFER, pps, () => lo.capture().packets, QUIET_MS);
    const { captured, cpuSeconds, cpuSystemSeconds } = g;
    const kernelDrops = lo.capture().kernelDrops;
    let keysInTable: boolean | undefined;
    if (withConditional) {
      const inTable = new Set<string>();
      lo.flows.forEach((f) => inTable.add(f.key));
      keysInTable = ALERTED_KEYS.every((k) => inTable.has(k));
    }
    await lo.stop();
    const run: ConditionalRun = {
      withConditional, sent: g.sent, sendSeconds: g.seconds, captured, capturedBytes: lo.capture().bytes, kernelDrops, cpuSeconds, cpuSystemSeconds,
    };
    if (conditional) {
      const files = pcapFiles(conditional.dir);
      const totals = await capinfosTotals([...files.closed, ...files.parts]);
      Object.assign(run, {
        alertedSent: sentInAlerted(g.sent), keysInTable, sink: lo.conditional(),
        stored: { ...totals, files: files.closed.length + files.parts.length, unclosed: files.parts.length },
      });
    }
    return run;
  } finally {
    unregister();
    await lo.stop();
    rmSync(join(work, 'conditional'), { recursive: true, force: true });
  }
}

const usPer = (r: ConditionalRun) => (r.captured > 0 ? ((1e6 * r.cpuSeconds) / r.captured).toFixed(2) : 'n/a');

function describe(r: ConditionalRun): string {
  const s = r.sink;
  const stored = r.stored
    ? `, stored ${r.stored.packets} packets / ${r.stored.bytes} B in ${r.stored.files} file(s)${r.stored.unclosed ? ` (${r.stored.unclosed} unclosed)` : ''} of ${r.alertedSent} sent in the alerted flow${r.keysInTable ? '' : ' (KEY NOT IN THE FLOW TABLE)'}` +
      `${s ? `, look-back ${s.lookback.packets} held / ${s.lookback.evicted} evicted${Object.keys(s.store.dropped).length ? `, store dropped ${JSON.stringify(s.store.dropped)}` : ''}` : ''}`
    : '';
  return `${r.withConditional ? 'capture + conditional' : 'capture alone'}: captured ${r.captured}/${r.sent}${r.kernelDrops ? ` (kernel drops ${r.kernelDrops})` : ''}${stored}, ` +
    `CPU ${r.cpuSeconds.toFixed(2)} s (system ${r.cpuSystemSeconds.toFixed(2)}) = ${usPer(r)} µs/packet`;
}

/** Every rate: a, b, b, a in a temporary directory removed at the end. */
export function conditionalBench(udpgen: string, rates: number[], log: (line: string) => void): Promise<ConditionalRow[]> {
  return alternatingRuns('conditional', rates, (pps, withIt, work) => runOnce(udpgen, pps, withIt, work), describe, log);
}
