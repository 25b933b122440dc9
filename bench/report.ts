// The bench's one table (scenario, figure, baseline, ratio, target, met?) with its
// notes, and the JSON written beside it. Figures only: nothing here fails a build.
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, release } from 'node:os';
import { BENCH_DIR } from './build.ts';
import type { CaptureRow, Counted } from './capture.ts';
import { countedTotal } from './ingest-ledger.ts';
import type { IngestResult, IngestStep } from './ingest.ts';
import { floorNotes, ingestRow } from './ingest-report.ts';
import type { MemoryResult } from './memory.ts';
import { recordingNotes, recordingRows } from './recording-report.ts';
import type { RecordingResult } from './recording.ts';
import { pushNotes, pushRows } from './push-report.ts';
import type { PushRow } from './push.ts';
import { conditionalNotes, conditionalRows } from './conditional-report.ts';
import type { ConditionalRow } from './conditional.ts';

export interface Machine {
  /** The code measured: `git describe --always --dirty` of the working tree, when it is one. */
  commit: string;
  cpu: string;
  cores: number;
  node: string;
  kernel: string;
  date: string;
  /** 1-minute load average when the bench started and ended: other work on the machine skews every figure. */
  loadAverage: { start: number; end: number };
}

export function machine(loadAtStart: number): Machine {
  return {
    commit: commit(),
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    node: process.version,
    kernel: release(),
    date: new Date().toISOString(),
    loadAverage: { start: loadAtStart, end: Math.round(loadavg()[0] * 100) / 100 },
  };
}

function commit(): string {
  try {
    return execFileSync('git', ['describe', '--always', '--dirty'], { cwd: BENCH_DIR, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

/** ntopng's published collection figure: one ZMQ interface is one thread there. */
export const NTOPNG_ANCHOR = { flowsPerSecondPerInterface: 42_000, twoInterfaces: 84_000, machine: '4-core Xeon E3-1230 v5' };
export const CAPTURE_TARGET_RATIO = 0.9;
export const MEMORY_TARGET_MIB = 1024;

export interface Results {
  machine: Machine;
  ingest: IngestResult[];
  capture: CaptureRow[];
  memory?: MemoryResult;
  recording?: RecordingResult;
  /** Recording alone against recording + two push targets, per rate. */
  push?: PushRow[];
  /** Capture alone against capture + conditional pcap (1 % of the flows alerted), per rate. */
  conditional?: ConditionalRow[];
  anchor: typeof NTOPNG_ANCHOR;
}

const rate = (n: number) => (n >= 995_000 ? `${(n / 1e6).toFixed(2)} M` : n >= 10_000 ? `${Math.round(n / 1000)} K` : `${(n / 1000).toFixed(1)} K`);
const pct = (a: number, b: number) => (b > 0 ? `${Math.round((100 * a) / b)}%` : 'n/a');
const share = (c: Counted) => (c.sent > 0 ? c.captured / c.sent : 0);
const pps = (c: Counted) => (c.sendSeconds > 0 ? c.captured / c.sendSeconds : 0);

function captureRow(c: CaptureRow): string[] {
  const ours = share(c.flowbridge);
  const bare = share(c.bareCap);
  const sentPps = c.flowbridge.sendSeconds > 0 ? c.flowbridge.sent / c.flowbridge.sendSeconds : 0;
  return [
    `capture ${c.offeredPps > 0 ? `${rate(c.offeredPps)} pps` : 'flat out'} asked on lo (${rate(sentPps)} sent): pps into flows`,
    `${rate(pps(c.flowbridge))} (${pct(ours, 1)})`,
    `bare cap ${rate(pps(c.bareCap))} (${pct(bare, 1)}), tcpdump ${rate(pps(c.tcpdump))} (${pct(share(c.tcpdump), 1)})`,
    pct(ours, bare),
    `≥ ${CAPTURE_TARGET_RATIO * 100}% of bare cap`,
    ours >= CAPTURE_TARGET_RATIO * bare ? 'yes' : 'no',
  ];
}

function memoryRow(m: MemoryResult): string[] {
  return [
    `memory: resident with ${rate(m.flows)} active flows`,
    `${m.rssMiB} MiB`,
    `${m.bytesPerFlow} B/flow`,
    pct(m.rssMiB, MEMORY_TARGET_MIB),
    `≤ ${MEMORY_TARGET_MIB} MiB`,
    m.rssMiB <= MEMORY_TARGET_MIB ? 'yes' : 'no',
  ];
}

function overloadNote(r: IngestResult): string {
  const o: IngestStep | undefined = r.overload;
  if (!o) return `  (${r.scenario}) no step passed: no overload probe.`;
  const of = (n: number) => pct(n, o.sentEvents);
  const c = o.counted;
  const counters = Object.entries({ 'hand-off full': c.handoffFull, 'queue full': c.queueFull, 'msg_id gaps': c.gapLost, rejected: c.rejected, 'merge errors': c.mergeErrors })
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return (
    `  (${r.scenario}) at ${rate(o.offeredEventsPerSecond)} events/s: merged ${of(o.merged)}, counted ${of(countedTotal(o))}` +
    `${counters ? ` (${counters})` : ''}, unaccounted ${of(o.unaccounted)} (${o.unaccounted} events).`
  );
}

function confirmationNote(r: IngestResult): string {
  const c = r.confirmation;
  if (!c) return `  (${r.scenario}) no step passed.`;
  return `  (${r.scenario}) the figure offered again after the search: ${c.passed ? 'held' : 'did not hold'} (${rate(c.sustainedEventsPerSecond)} events/s sustained, ${c.sentEvents - c.merged} lost, backlog cleared ${c.drainSeconds} s after the sender).`;
}

function cpuNote(r: IngestResult): string {
  const best = r.steps.filter((s) => s.passed).sort((a, b) => b.sustainedEventsPerSecond - a.sustainedEventsPerSecond)[0];
  if (!best) return '';
  const u = best.cpuPerEventUs;
  const c = best.cpu;
  const total = Math.round((u.main + u.busiestOther + u.rest) * 10) / 10;
  // All of flowbridge's threads together may spend at most this per event to reach the target on every core of this machine.
  const budget = Math.round(((cpus().length / r.target) * 1e7)) / 10;
  return (
    `  (${r.scenario}) at ${rate(best.sustainedEventsPerSecond)} events/s: ${total} µs of CPU per event (main thread ${u.main}, collector thread ${u.busiestOther}, other threads ${u.rest}); ` +
    `the C subscriber spends ${r.ceiling.cpuPerEventUs} µs; ${rate(r.target)}/s on ${cpus().length} cores allows at most ${budget} µs. ` +
    `Cores: main ${c.main}, collector ${c.busiestOther}, other threads ${c.rest}; whole machine ${c.machine} of ${cpus().length}.`
  );
}

export function renderTable(r: Results): string {
  const rows = [
    ['scenario', 'flowbridge', 'baseline (same run)', 'ratio', 'target', 'met?'],
    ...r.ingest.map(ingestRow),
    ...r.capture.map(captureRow),
    ...(r.memory ? [memoryRow(r.memory)] : []),
    ...(r.recording ? recordingRows(r.recording) : []),
    ...(r.push ? pushRows(r.push) : []),
    ...(r.conditional ? conditionalRows(r.conditional) : []),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const lines = rows.map((row) => `| ${row.map((cell, i) => cell.padEnd(widths[i])).join(' | ')} |`);
  lines.splice(1, 0, `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  const m = r.machine;
  const notes = [
    '',
    `Commit ${m.commit}; ${m.cores} × ${m.cpu}, Node ${m.node}, Linux ${m.kernel}, ${m.date}; load average ${m.loadAverage.start} at start, ${m.loadAverage.end} at end (other work on the machine lowers every figure).`,
    `Anchor: ntopng publishes ${rate(r.anchor.flowsPerSecondPerInterface)} flows/s per ZMQ interface (${rate(r.anchor.twoInterfaces)} with two) on a ${r.anchor.machine}; one ZMQ interface is one thread there.`,
    'Ingest: the real pipeline (startFlowbridge: receive thread, decode, validate, normalise, dispatch, merge). Zero loss = every event sent merged into the flow table and the backlog cleared within 0.5 s of the sender stopping, in 3-s steps. Ceiling: a C subscriber that only counts, fed flat out.',
    ...r.ingest.map(confirmationNote),
    ...floorNotes(r.ingest),
    'Overload probe (three times the figure for 8 s, producer send HWM 1000 as libzmq defaults): where the lost events show.',
    ...r.ingest.map(overloadNote),
    'Where the CPU went at the figure (cores averaged over the step and its drain):',
    ...r.ingest.map(cpuNote).filter(Boolean),
    'Capture: 3 s per rate and per method, 64 UDP flows of 64-byte payloads; ratio = share of sent packets in our flow table / share the bare cap loop counted.',
    ...(r.memory
      ? [`Memory: ${rate(r.memory.flows)} flows built from ebpflowexport events through FlowTable.applyEvent in a process of its own (${rate(r.memory.eventsPerSecond)} events/s while building); RSS of that whole process.`]
      : []),
    ...(r.recording ? recordingNotes(r.recording) : []),
    ...(r.push ? pushNotes(r.push) : []),
    ...(r.conditional ? conditionalNotes(r.conditional) : []),
  ];
  return [...lines, ...notes].join('\n');
}
