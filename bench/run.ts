// `npm run bench`: ingest, capture and memory figures, each with a baseline measured
// in the same run, printed as one table and written to bench/results/latest.json.
// Benchmarks print figures; they never fail the build.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { buildTools, BENCH_DIR } from './build.ts';
import { capture } from './capture.ts';
import { ingest } from './ingest.ts';
import { memory } from './memory.ts';

const log = (l: string) => process.stderr.write(`${l}\n`);
const k = (n: number) => `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)} K`;
const pct = (a: number, b: number) => (b > 0 ? `${((100 * a) / b).toFixed(0)}%` : 'n/a');

const tools = buildTools();
log('ingest (a): one event per message, v0 header (ebpflowexport)');
const a = await ingest(tools, { name: 'a', layout: 0, batch: 1, startEventsPerSecond: 60_000 }, log);
log('ingest (b): JSON arrays of 20 events, v3 header');
const b = await ingest(tools, { name: 'b', layout: 3, batch: 20, startEventsPerSecond: 100_000 }, log);
log('capture on lo');
const cap = await capture(tools.udpgen, [25_000, 50_000, 100_000, 200_000], log);
log('memory: 1 M flows');
const mem = await memory();

const rows: string[][] = [
  ['figure', 'flowbridge', 'baseline (same run)', 'ratio', 'target', 'met'],
  ['ingest (a) 1 event/msg, v0: events/s, zero loss', k(a.eventsPerSecond), `C subscriber ${k(a.ceilingEventsPerSecond)}`, pct(a.eventsPerSecond, a.ceilingEventsPerSecond), '≥ 150 K', a.eventsPerSecond >= 150_000 ? 'yes' : 'no'],
  ['ingest (b) 20 events/msg, v3: events/s, zero loss', k(b.eventsPerSecond), `C subscriber ${k(b.ceilingEventsPerSecond)}`, pct(b.eventsPerSecond, b.ceilingEventsPerSecond), '≥ 400 K', b.eventsPerSecond >= 400_000 ? 'yes' : 'no'],
  ...cap.map((c) => {
    const ours = c.flowbridge.captured / c.flowbridge.sent;
    const bare = c.bareCap.captured / c.bareCap.sent;
    return [
      `capture ${k(c.offeredPps)} pps offered: share of sent packets in flows`, pct(ours, 1),
      `bare cap ${pct(bare, 1)}, tcpdump ${pct(c.tcpdump.captured / c.tcpdump.sent, 1)}`, pct(ours, bare), '≥ 90% of bare cap', ours >= 0.9 * bare ? 'yes' : 'no',
    ];
  }),
  ['memory: resident with 1 M flows', `${mem.rssMiB.toFixed(0)} MiB`, `${mem.bytesPerFlow.toFixed(0)} B/flow`, '', '≤ 1024 MiB', mem.rssMiB <= 1024 ? 'yes' : 'no'],
];
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
const table = rows.map((r) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`);
table.splice(1, 0, `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
const machine = { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, date: new Date().toISOString() };
console.log(table.join('\n'));
console.log(`\n${machine.cores} × ${machine.cpu}, Node ${machine.node}, ${machine.date}. Anchor: ntopng publishes 42 K flows/s per ZMQ interface on a 4-core Xeon E3-1230 v5.`);
mkdirSync(`${BENCH_DIR}results`, { recursive: true });
writeFileSync(`${BENCH_DIR}results/latest.json`, JSON.stringify({ machine, ingest: [a, b], capture: cap, memory: mem }, null, 2) + '\n');
process.exit(0);
