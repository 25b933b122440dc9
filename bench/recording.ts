// Continuous recording benchmark, three parts, each against a baseline in the same run:
//  1. throughput: UDP offered on `lo` at rising rates (udpgen.c), recorded by a real
//     PacketInterface with recording on, then by `tcpdump -w`; packets written to disk
//     (counted by capinfos in the files each wrote) as a share of packets sent;
//  2. extraction: a ≥ 1 GiB recording made by the real RecordingWriter from synthetic
//     flows (recording-synthetic.ts), one flow and one process's flows extracted with
//     `extract()` against `tcpdump -r file -w out FILTER` over every file;
//  3. index size as a share of pcap bytes, for that recording and for the worst case
//     (minimum-size frames, two packets per flow).
// Everything is written under one temporary directory, deleted at the end.
import { closeSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tupleKey } from '../src/flows/flow-key.ts';
import { PacketInterface } from '../src/interfaces/packet-interface.ts';
import type { RecordingSettings } from '../src/model/recording.ts';
import { extract, type ExtractionResult } from '../src/recording/reader.ts';
import { RecordingWriter } from '../src/recording/writer.ts';
import { onCleanup, run } from './children.ts';
import { capinfosCount, pcapFiles } from './pcap-files.ts';
import { offerFilter, offerUdp, settled, tcpdumpWhileOffered, type UdpOffer } from './udp-offer.ts';
import { ipText, mixedFlows, tinyFlows, writeSynthetic, type SyntheticFlow } from './recording-synthetic.ts';

/** UDP payload 300: a 342-byte frame, 358 bytes in the file with its record header. */
const OFFER: UdpOffer = { dstPort: 17002, srcPort: 17200, flows: 64, seconds: 3, payload: 300 };
export const PAYLOAD = OFFER.payload;
const FILTER = offerFilter(OFFER);
const BUFFER_BYTES = 32 * 1024 * 1024;
const QUIET_MS = 500;
/** tcpdump reads the kernel ring with a 1-s block timeout: packets in a block not yet handed over when it is
 *  interrupted are never written. It is stopped only after this long, so that its count is not short by that. */
const TCPDUMP_TAIL_MS = 2_000;
const MiB = 1024 * 1024;
/** Extraction runs per method; the median is the figure. */
const RUNS = 3;

export interface Written {
  sent: number;
  sendSeconds: number;
  /** Packets in the files written, as capinfos counts them. */
  written: number;
  kernelDrops?: number;
  /** Files left under a temporary name (not closed when the capture stopped). */
  unclosed?: number;
}

export interface ThroughputRow {
  offeredPps: number;
  flowbridge: Written;
  tcpdump: Written;
}

export type CacheState = 'warm' | 'cold';

export interface ExtractionFigure {
  what: string;
  /** warm: every file read once before the runs (in the page cache); cold: evicted before every run. */
  cache: CacheState;
  flows: number;
  /** Median wall time (ms) and every run's. */
  oursMs: number;
  oursRunsMs: number[];
  tcpdumpMs: number;
  tcpdumpRunsMs: number[];
  /** Packets extracted: our count, capinfos on our output, capinfos on tcpdump's outputs. */
  packets: number;
  packetsRead: number;
  tcpdumpPackets: number;
  /** Bytes of pcap our extraction read (tcpdump reads every file whole). */
  bytesRead: number;
  filter: string;
}

export interface IndexFigure {
  what: string;
  files: number;
  packets: number;
  flows: number;
  pcapBytes: number;
  indexBytes: number;
  /** Seconds the writer took to write it all (synthetic packets, no capture). */
  writeSeconds: number;
}

export interface RecordingResult {
  throughput: ThroughputRow[];
  extraction: ExtractionFigure[];
  index: IndexFigure[];
}

const pcapsIn = (dir: string) => {
  const { closed, parts } = pcapFiles(dir);
  return [...closed, ...parts].sort();
};
const bytesOf = (paths: string[]) => paths.reduce((n, p) => n + statSync(p).size, 0);

async function oursAt(udpgen: string, pps: number, dir: string): Promise<Written> {
  const settings: RecordingSettings = { dir, maxDiskBytes: 4 * 1024 * MiB, maxFileBytes: 256 * MiB, maxFileSeconds: 60, snaplen: 65535 };
  const lo = new PacketInterface({ id: 0, name: 'lo', device: 'lo', filter: FILTER, bufferBytes: BUFFER_BYTES, recording: settings });
  const unregister = onCleanup(() => lo.stop());
  try {
    await lo.start();
    const g = await offerUdp(udpgen, OFFER, pps);
    await settled(() => lo.capture().packets, QUIET_MS);
    const kernelDrops = lo.capture().kernelDrops;
    await lo.stop();
    const files = pcapsIn(dir);
    return { sent: g.sent, sendSeconds: g.seconds, written: await capinfosCount(files), kernelDrops, unclosed: files.filter((f) => f.endsWith('.part')).length };
  } finally {
    unregister();
    await lo.stop();
  }
}

async function tcpdumpAt(udpgen: string, pps: number, file: string): Promise<Written> {
  const t = await tcpdumpWhileOffered(udpgen, OFFER, pps, file, BUFFER_BYTES, TCPDUMP_TAIL_MS);
  return { sent: t.sent, sendSeconds: t.seconds, written: await capinfosCount([file]), kernelDrops: t.kernelDrops };
}

/** Part 1: recording throughput on lo, flowbridge then tcpdump at each rate. */
export async function recordingThroughput(udpgen: string, rates: number[], work: string, log: (line: string) => void): Promise<ThroughputRow[]> {
  const rows: ThroughputRow[] = [];
  for (const pps of rates) {
    const dir = join(work, `lo-${pps}`);
    const flowbridge = await oursAt(udpgen, pps, dir);
    rmSync(dir, { recursive: true, force: true });
    const file = join(work, `tcpdump-${pps}.pcap`);
    const tcpdump = await tcpdumpAt(udpgen, pps, file);
    rmSync(file, { force: true });
    rows.push({ offeredPps: pps, flowbridge, tcpdump });
    const f = (w: Written) => `${w.written}/${w.sent}${w.kernelDrops ? ` (kernel drops ${w.kernelDrops})` : ''}${w.unclosed ? ` (${w.unclosed} file(s) left unclosed)` : ''}`;
    log(`  recording at ${pps} pps: flowbridge wrote ${f(flowbridge)}, tcpdump -w ${f(tcpdump)}`);
  }
  return rows;
}

/** libpcap filter for exactly one direction-free 5-tuple (what a flow key names). */
function flowFilter(f: SyntheticFlow): string {
  const p = f.protocol === 6 ? 'tcp' : 'udp';
  const c = ipText(f.client);
  const s = ipText(f.server);
  return `(${p} and ((src host ${c} and src port ${f.clientPort} and dst host ${s} and dst port ${f.serverPort}) or ` +
    `(src host ${s} and src port ${f.serverPort} and dst host ${c} and dst port ${f.clientPort})))`;
}

/** The flows API key of a flow (flow-key.ts), as the index holds it. */
const flowKeyOf = (f: SyntheticFlow) => tupleKey(f.protocol, { ip: ipText(f.client), port: f.clientPort }, { ip: ipText(f.server), port: f.serverPort });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Evicts files from the page cache (posix_fadvise DONTNEED, through dd; they are clean: the writer fsyncs on close). */
async function evict(paths: string[]): Promise<void> {
  for (const p of paths) await run('dd', [`if=${p}`, 'iflag=nocache', 'count=0', 'status=none'], 30_000);
}

/** Reads files once, so that they are in the page cache. */
async function warm(paths: string[]): Promise<void> {
  for (const p of paths) await run('dd', [`if=${p}`, 'of=/dev/null', 'bs=4M', 'status=none'], 120_000);
}

interface Query {
  what: string;
  flows: SyntheticFlow[];
}

/** One query, with our extract() and tcpdump -r over every file, RUNS times each, the page cache warm or cold. */
async function extractionFigure(q: Query, cache: CacheState, dir: string, window: { firstNs: bigint; lastNs: bigint }, work: string, log: (line: string) => void): Promise<ExtractionFigure> {
  const files = pcapsIn(dir);
  const everything = readdirSync(dir).map((n) => join(dir, n));
  const keys = new Set(q.flows.map(flowKeyOf));
  const filter = q.flows.map(flowFilter).join(' or ');
  const ours = join(work, 'ours.pcap');
  const oursRunsMs: number[] = [];
  const before = () => (cache === 'cold' ? evict(everything) : Promise.resolve());
  if (cache === 'warm') await warm(everything);
  let result: ExtractionResult | undefined;
  for (let i = 0; i < RUNS; i++) {
    await before();
    const t0 = performance.now();
    const fd = openSync(ours, 'w');
    try {
      const it = extract(dir, { beginNs: window.firstNs, endNs: window.lastNs, flows: keys });
      for (let n = it.next(); ; n = it.next()) {
        if (n.done) {
          result = n.value;
          break;
        }
        writeSync(fd, n.value);
      }
    } finally {
      closeSync(fd);
    }
    oursRunsMs.push(performance.now() - t0);
  }
  const packetsRead = await capinfosCount([ours]);
  const tcpdumpRunsMs: number[] = [];
  const outs = files.map((_, i) => join(work, `tcpdump-${i}.pcap`));
  for (let i = 0; i < RUNS; i++) {
    await before();
    const t0 = performance.now();
    for (let k = 0; k < files.length; k++) await run('tcpdump', ['-r', files[k], '-w', outs[k], filter], 300_000);
    tcpdumpRunsMs.push(performance.now() - t0);
  }
  const tcpdumpPackets = await capinfosCount(outs);
  for (const p of [ours, ...outs]) rmSync(p, { force: true });
  const fig: ExtractionFigure = {
    what: q.what, cache, flows: q.flows.length, oursMs: median(oursRunsMs), oursRunsMs, tcpdumpMs: median(tcpdumpRunsMs), tcpdumpRunsMs,
    packets: result!.packets, packetsRead, tcpdumpPackets, bytesRead: result!.bytesRead, filter,
  };
  log(`  extraction of ${q.what}, page cache ${cache}: ${Math.round(fig.oursMs)} ms, ${fig.packets} packets (capinfos ${packetsRead}), ${(fig.bytesRead / MiB).toFixed(1)} MiB read; ` +
    `tcpdump -r over ${files.length} files ${Math.round(fig.tcpdumpMs)} ms, ${tcpdumpPackets} packets`);
  return fig;
}

function indexFigure(what: string, dir: string, flows: number, packets: number, writeSeconds: number): IndexFigure {
  const pcaps = pcapsIn(dir);
  // Both parts of each index: the .idx (blocks) and the .flows (flow table with record offsets).
  const indexes = readdirSync(dir).filter((n) => n.endsWith('.idx') || n.endsWith('.flows')).map((n) => join(dir, n));
  return { what, files: pcaps.length, packets, flows, pcapBytes: bytesOf(pcaps), indexBytes: bytesOf(indexes), writeSeconds };
}

function writeRecording(dir: string, flows: SyntheticFlow[], seed: number) {
  const settings: RecordingSettings = { dir, maxDiskBytes: 16 * 1024 * MiB, maxFileBytes: 256 * MiB, maxFileSeconds: 86_400, snaplen: 65535 };
  const t0 = performance.now();
  const writer = new RecordingWriter(settings, 1, true, 1_767_225_600_000);
  const rec = writeSynthetic(writer, flows, seed);
  const st = writer.stats();
  if (Object.keys(st.dropped).length > 0 || st.packets !== rec.packets) throw new Error(`the writer kept ${st.packets} of ${rec.packets} packets (dropped ${JSON.stringify(st.dropped)})`);
  return { rec, seconds: (performance.now() - t0) / 1000 };
}

/** The process's flows: 30 flows of one client address, moved there from the mixed set (20 short, 9 medium, 1 bulk). */
function processFlows(flows: SyntheticFlow[]): SyntheticFlow[] {
  const pick: SyntheticFlow[] = [];
  const want = { short: 20, medium: 9, bulk: 1 };
  for (let i = 50_000; i < flows.length && pick.length < 30; i++) {
    const f = flows[i];
    const kind = f.packets <= 12 ? 'short' : f.packets <= 40 ? 'medium' : 'bulk';
    if (want[kind] === 0) continue;
    want[kind]--;
    f.client = ((10 << 24) | (250 << 16) | 7) >>> 0; // 10.250.0.7, outside the other clients' 10.0/16
    f.clientPort = 40_000 + pick.length;
    pick.push(f);
  }
  return pick;
}

/** Parts 2 and 3: the large recording, its extractions, and both index shares. */
export async function recordingStore(work: string, log: (line: string) => void): Promise<{ extraction: ExtractionFigure[]; index: IndexFigure[] }> {
  const big = join(work, 'mixed');
  const flows = mixedFlows(100_000, 1);
  const proc = processFlows(flows);
  // One typical flow: a medium TCP flow (10–40 packets over seconds) starting mid-recording.
  const one = flows.find((f, i) => i > 60_000 && f.protocol === 6 && f.packets >= 25 && f.packets <= 40 && f.durationUs > 10_000_000)!;
  log('  writing ~1.3 GB of synthetic packets (100 K flows) through RecordingWriter');
  const { rec, seconds } = writeRecording(big, flows, 7);
  const index = [indexFigure(`mixed traffic, ${flows.length / 1000} K flows`, big, flows.length, rec.packets, seconds)];
  const pcapBytes = index[0].pcapBytes;
  log(`  wrote ${(pcapBytes / MiB).toFixed(0)} MiB in ${index[0].files} files, ${rec.packets} packets, in ${seconds.toFixed(1)} s; index ${(index[0].indexBytes / MiB).toFixed(1)} MiB`);
  if (pcapBytes < 1024 * MiB) throw new Error(`the recording is ${pcapBytes} bytes, less than 1 GiB`);
  const queries: Query[] = [
    { what: `one flow (${one.packets} packets over ${Math.round(one.durationUs / 1e6)} s)`, flows: [one] },
    { what: `one process (${proc.length} flows, ${proc.reduce((n, f) => n + f.packets, 0)} packets)`, flows: proc },
  ];
  const extraction: ExtractionFigure[] = [];
  for (const cache of ['warm', 'cold'] as const) for (const q of queries) extraction.push(await extractionFigure(q, cache, big, rec, work, log));
  rmSync(big, { recursive: true, force: true });

  const tiny = join(work, 'tiny');
  const tinySet = tinyFlows(450_000, 2);
  log(`  writing the worst case for the index: ${tinySet.length / 1000} K flows of two 60-byte frames`);
  const t = writeRecording(tiny, tinySet, 3);
  index.push(indexFigure(`worst case: 60-B frames, 2 packets per flow, ${tinySet.length / 1000} K flows`, tiny, tinySet.length, t.rec.packets, t.seconds));
  rmSync(tiny, { recursive: true, force: true });
  for (const i of index) log(`  index of ${i.what}: ${i.indexBytes} bytes for ${i.pcapBytes} bytes of pcap (${((100 * i.indexBytes) / i.pcapBytes).toFixed(2)} %)`);
  return { extraction, index };
}

/** All three parts, in a temporary directory removed at the end. */
export async function recording(udpgen: string, rates: number[], log: (line: string) => void): Promise<RecordingResult> {
  const work = mkdtempSync(join(tmpdir(), 'fb-bench-recording-'));
  const unregister = onCleanup(() => rmSync(work, { recursive: true, force: true }));
  try {
    const throughput = await recordingThroughput(udpgen, rates, work, log);
    const store = await recordingStore(work, log);
    return { throughput, ...store };
  } finally {
    rmSync(work, { recursive: true, force: true });
    unregister();
  }
}
