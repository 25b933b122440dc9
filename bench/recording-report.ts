// The recording bench's rows of the table (report.ts) and its notes.
import { PAYLOAD, type ExtractionFigure, type IndexFigure, type RecordingResult, type ThroughputRow, type Written } from './recording.ts';

export const RECORDING_TARGETS = { shareOfTcpdump: 0.9, extractionSpeedup: 20, indexShare: 0.03 } as const;

const rate = (n: number) => (n >= 995_000 ? `${(n / 1e6).toFixed(2)} M` : n >= 10_000 ? `${Math.round(n / 1000)} K` : `${(n / 1000).toFixed(1)} K`);
const share = (w: Written) => (w.sent > 0 ? w.written / w.sent : 0);
const pct = (x: number, digits = 0) => `${(100 * x).toFixed(digits)}%`;
const ms = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${Math.round(x)} ms`);
const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(2)} GiB`;

function throughputRow(r: ThroughputRow): string[] {
  const ours = share(r.flowbridge);
  const theirs = share(r.tcpdump);
  const sentPps = r.flowbridge.sendSeconds > 0 ? r.flowbridge.sent / r.flowbridge.sendSeconds : 0;
  const ratio = theirs > 0 ? ours / theirs : 0;
  return [
    `recording ${rate(r.offeredPps)} pps asked on lo (${rate(sentPps)} sent): share of sent packets written`,
    `${pct(ours, 1)}${r.flowbridge.unclosed ? ` (${r.flowbridge.unclosed} file unclosed)` : ''}`,
    `tcpdump -w ${pct(theirs, 1)}`,
    `${ratio.toFixed(2)}×`,
    `≥ ${RECORDING_TARGETS.shareOfTcpdump}× tcpdump`,
    ratio >= RECORDING_TARGETS.shareOfTcpdump ? 'yes' : 'no',
  ];
}

function extractionRow(e: ExtractionFigure, recorded: IndexFigure | undefined): string[] {
  const speedup = e.oursMs > 0 ? e.tcpdumpMs / e.oursMs : 0;
  const same = e.packets === e.tcpdumpPackets && e.packetsRead === e.packets;
  return [
    `extract ${e.what} from ${recorded ? gib(recorded.pcapBytes) : 'the recording'}, page cache ${e.cache}: time (packets)`,
    `${ms(e.oursMs)} (${e.packets}${same ? '' : ' ≠ tcpdump'})`,
    `tcpdump -r ${ms(e.tcpdumpMs)} (${e.tcpdumpPackets})`,
    `${speedup.toFixed(1)}× faster`,
    `≥ ${RECORDING_TARGETS.extractionSpeedup}× faster`,
    speedup >= RECORDING_TARGETS.extractionSpeedup && same ? 'yes' : 'no',
  ];
}

function indexRow(i: IndexFigure): string[] {
  const s = i.pcapBytes > 0 ? i.indexBytes / i.pcapBytes : 0;
  return [
    `index size: ${i.what}`,
    `${(i.indexBytes / 2 ** 20).toFixed(1)} MiB`,
    `pcap ${(i.pcapBytes / 2 ** 20).toFixed(0)} MiB`,
    pct(s, 2),
    `≤ ${pct(RECORDING_TARGETS.indexShare)} of pcap`,
    s <= RECORDING_TARGETS.indexShare ? 'yes' : 'no',
  ];
}

export function recordingRows(r: RecordingResult): string[][] {
  const recorded = r.index[0];
  return [...r.throughput.map(throughputRow), ...r.extraction.map((e) => extractionRow(e, recorded)), ...r.index.map(indexRow)];
}

export function recordingNotes(r: RecordingResult): string[] {
  const recorded = r.index[0];
  const notes = [
    `Recording: 3 s per rate and per method, 64 UDP flows of ${PAYLOAD}-byte payloads on lo; a PacketInterface recording (256 MiB files) then \`tcpdump -w\`, each file counted by capinfos; ratio = share written / tcpdump's share.`,
  ];
  if (recorded) {
    notes.push(
      `Extraction: ${gib(recorded.pcapBytes)} in ${recorded.files} files (${rate(recorded.packets)} packets, ${rate(recorded.flows)} flows) written by RecordingWriter from synthetic frames in ${recorded.writeSeconds.toFixed(1)} s; ` +
        'extract() with the flow keys (window = the whole recording) written to a file, against `tcpdump -r FILE -w OUT` with the exact 5-tuple filter over every file; median of 3 runs; warm = files read beforehand, cold = evicted from the page cache before every run.',
      ...r.extraction.map((e) => `  ${e.what}, ${e.cache}: ours ${e.oursRunsMs.map(ms).join(', ')} reading ${(e.bytesRead / 2 ** 20).toFixed(1)} MiB; tcpdump ${e.tcpdumpRunsMs.map(ms).join(', ')}.`),
    );
  }
  return notes;
}
