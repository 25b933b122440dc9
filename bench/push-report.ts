// The push bench's rows of the table (report.ts) and its notes.
import { PUSH_FLOWS, PUSH_PAYLOAD, TARGETS, type PushRow, type PushRun } from './push.ts';

/** (b)'s worst written share (recording, `all`, `half`) against (a)'s: at least this. */
export const PUSH_TARGET_RATIO = 0.9;

const rate = (n: number) => (n >= 995_000 ? `${(n / 1e6).toFixed(2)} M` : n >= 10_000 ? `${Math.round(n / 1000)} K` : `${(n / 1000).toFixed(1)} K`);
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const sum = (runs: PushRun[], f: (r: PushRun) => number) => runs.reduce((a, r) => a + f(r), 0);

export interface PushSummary {
  offeredPps: number;
  sentPps: number;
  /** Shares of sent packets written, over both runs of each configuration. */
  alone: number;
  recordingWithPush: number;
  /** Per target: written / expected (every sent packet, or those of its flows). */
  targets: { desc: string; share: number; expectedOfSent: number; files: number; unclosed: number; dropped: Record<string, number> }[];
  /** (b)'s lowest share / (a)'s. */
  ratio: number;
  /** CPU µs of the capture process per packet it captured. */
  cpuUsAlone: number;
  cpuUsWithPush: number;
  /** Of which in the kernel (system time: writes, reads of the ring). */
  cpuSystemUsAlone: number;
  cpuSystemUsWithPush: number;
  cpuRatio: number;
}

export function summarise(row: PushRow): PushSummary {
  const a = row.runs.filter((r) => !r.withPush);
  const b = row.runs.filter((r) => r.withPush);
  const alone = sum(a, (r) => r.recorded) / sum(a, (r) => r.sent);
  const recordingWithPush = sum(b, (r) => r.recorded) / sum(b, (r) => r.sent);
  const targets = TARGETS.map(({ desc }) => {
    const of = b.map((r) => r.targets.find((t) => t.desc === desc)!);
    const dropped: Record<string, number> = {};
    for (const t of of) for (const [k, n] of Object.entries(t.stats?.dropped ?? {})) dropped[k] = (dropped[k] ?? 0) + n;
    return {
      desc,
      share: of.reduce((n, t) => n + t.written, 0) / of.reduce((n, t) => n + t.expected, 0),
      expectedOfSent: of.reduce((n, t) => n + t.expected, 0) / sum(b, (r) => r.sent),
      files: of.reduce((n, t) => n + t.files, 0),
      unclosed: of.reduce((n, t) => n + t.unclosed, 0),
      dropped,
    };
  });
  const worst = Math.min(recordingWithPush, ...targets.map((t) => t.share));
  const cpuUsAlone = (1e6 * sum(a, (r) => r.cpuSeconds)) / sum(a, (r) => r.captured);
  const cpuUsWithPush = (1e6 * sum(b, (r) => r.cpuSeconds)) / sum(b, (r) => r.captured);
  const cpuSystemUsAlone = (1e6 * sum(a, (r) => r.cpuSystemSeconds)) / sum(a, (r) => r.captured);
  const cpuSystemUsWithPush = (1e6 * sum(b, (r) => r.cpuSystemSeconds)) / sum(b, (r) => r.captured);
  return {
    offeredPps: row.offeredPps,
    sentPps: sum(row.runs, (r) => r.sent) / sum(row.runs, (r) => r.sendSeconds),
    alone, recordingWithPush, targets,
    ratio: alone > 0 ? worst / alone : 0,
    cpuUsAlone, cpuUsWithPush, cpuSystemUsAlone, cpuSystemUsWithPush,
    cpuRatio: cpuUsAlone > 0 ? cpuUsWithPush / cpuUsAlone : 0,
  };
}

export function pushRows(rows: PushRow[]): string[][] {
  return rows.flatMap((row) => {
    const s = summarise(row);
    const asked = `push ${rate(s.offeredPps)} pps asked on lo (${rate(s.sentPps)} sent)`;
    return [
      [
        `${asked}: share of sent packets written, recording + 2 push targets`,
        `recording ${pct(s.recordingWithPush)}, ${s.targets.map((t) => `${t.desc} ${pct(t.share)}${t.expectedOfSent < 1 ? ' of its flows' : ''}`).join(', ')}`,
        `recording alone ${pct(s.alone)}`,
        `${s.ratio.toFixed(2)}×`,
        `≥ ${PUSH_TARGET_RATIO}× recording alone`,
        s.ratio >= PUSH_TARGET_RATIO ? 'yes' : 'no',
      ],
      [
        `${asked}: capture process CPU per packet, recording + 2 push targets`,
        `${s.cpuUsWithPush.toFixed(2)} µs (system ${s.cpuSystemUsWithPush.toFixed(2)})`,
        `recording alone ${s.cpuUsAlone.toFixed(2)} µs (system ${s.cpuSystemUsAlone.toFixed(2)})`,
        `${s.cpuRatio.toFixed(2)}×`,
        'figure only',
        '-',
      ],
    ];
  });
}

export function pushNotes(rows: PushRow[]): string[] {
  if (rows.length === 0) return [];
  const notes = [
    `Push: ${PUSH_FLOWS} UDP flows of ${PUSH_PAYLOAD}-byte payloads on lo, 3 s per run, runs a, b, b, a at each rate; a PacketInterface recording (256 MiB files) ` +
      `(a) alone, (b) with two FILE push targets: ${TARGETS.map((t) => `${t.desc} (${t.split}${t.filterBpf ? `, BPF "${t.filterBpf}"` : ', every packet'})`).join(', ')}; ` +
      'packets in each one\'s files counted by capinfos, over both runs; ratio = (b)\'s lowest share (recording, all, half against the packets of its flows sent) / (a)\'s share. ' +
      'CPU: user + system time of the capture process (/proc/<pid>/stat, every thread) from the first packet sent until the counts settled, per packet it captured.',
  ];
  for (const row of rows) {
    const s = summarise(row);
    const t = s.targets.map((x) => `${x.desc} ${x.files} files${x.unclosed ? `, ${x.unclosed} unclosed` : ''}${Object.keys(x.dropped).length ? `, dropped ${JSON.stringify(x.dropped)}` : ''} (expected ${pct(x.expectedOfSent)} of sent)`).join('; ');
    const cpu = row.runs.map((r) => `${r.withPush ? 'b' : 'a'} ${r.captured > 0 ? ((1e6 * r.cpuSeconds) / r.captured).toFixed(2) : 'n/a'}`).join(', ');
    const drops = row.runs.map((r) => `${r.withPush ? 'b' : 'a'} ${r.kernelDrops ?? 0}`).join(', ');
    notes.push(`  ${rate(s.offeredPps)} pps: ${t}; µs/packet per run ${cpu}; kernel drops per run ${drops}.`);
  }
  return notes;
}
