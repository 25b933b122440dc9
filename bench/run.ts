// `npm run bench`: ingest, capture and memory figures, each against a baseline
// measured in the same run, printed as one table and written to
// bench/results/latest.json. Benchmarks print figures; they never fail the build.
// Progress goes to stderr, the table to stdout.
//
//   npm run bench                  everything (about 5 minutes)
//   npm run bench -- ingest        only some parts: ingest, capture, memory, recording, push, conditional, agent, scaleout
//                                  (written to bench/results/ingest.json, ...)
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { buildTools, RESULTS_DIR } from './build.ts';
import { capture, type CaptureRow } from './capture.ts';
import { cleanupAll, cleanUpOnExit } from './children.ts';
import { ingest, SCENARIOS, type IngestResult } from './ingest.ts';
import { memory, type MemoryResult } from './memory.ts';
import { recording, type RecordingResult } from './recording.ts';
import { pushBench, type PushRow } from './push.ts';
import { conditionalBench, type ConditionalRow } from './conditional.ts';
import { agentBench, renderAgentTable, type AgentRow } from './agent.ts';
import { renderScaleout, scaleoutBench, type ScaleoutResult } from './scaleout.ts';
import { machine, NTOPNG_ANCHOR, renderTable, type Results } from './report.ts';

const log = (line: string) => process.stderr.write(`${line}\n`);
cleanUpOnExit(log);

const PARTS = ['ingest', 'capture', 'memory', 'recording', 'push', 'conditional', 'agent', 'scaleout'] as const;
const asked = process.argv.slice(2);
const unknown = asked.filter((a) => !(PARTS as readonly string[]).includes(a));
if (unknown.length > 0) {
  log(`bench: unknown part ${unknown.join(', ')}; the parts are ${PARTS.join(', ')} (none = all)`);
  process.exit(2);
}
const wanted = (part: (typeof PARTS)[number]) => asked.length === 0 || asked.includes(part);

const loadAtStart = Math.round(loadavg()[0] * 100) / 100;
const tools = buildTools();
const ingestResults: IngestResult[] = [];
let captureRows: CaptureRow[] = [];
let mem: MemoryResult | undefined;
let rec: RecordingResult | undefined;
let push: PushRow[] | undefined;
let conditional: ConditionalRow[] | undefined;

if (wanted('ingest')) {
  for (const scenario of SCENARIOS) {
    log(`ingest (${scenario.name}): ${scenario.description}`);
    ingestResults.push(await ingest(tools, scenario, log));
  }
}
if (wanted('capture')) {
  log('capture on lo: flowbridge, bare cap loop, tcpdump');
  // 0 = flat out: on this machine the sender tops out near 200 K packets/s on lo.
  captureRows = await capture(tools.udpgen, [20_000, 50_000, 100_000, 200_000, 0], log);
}
if (wanted('memory')) {
  log('memory: 1 M flows in one flow table');
  mem = await memory();
}
if (wanted('recording')) {
  log('recording: throughput on lo against tcpdump -w, extraction from ≥ 1 GiB against tcpdump -r, index size');
  rec = await recording(tools.udpgen, [25_000, 50_000, 100_000, 200_000], log);
}
if (wanted('push')) {
  log('push: recording alone against recording + two push targets on lo (written shares, capture process CPU per packet)');
  push = await pushBench(tools.udpgen, [25_000, 50_000, 100_000, 200_000], log);
}
if (wanted('conditional')) {
  log('conditional: capture alone against capture + conditional pcap with 1 % of the flows alerted on lo (captured and stored shares, capture process CPU per packet)');
  conditional = await conditionalBench(tools.udpgen, [25_000, 50_000, 100_000, 200_000], log);
}
let agent: AgentRow[] | undefined;
if (wanted('agent')) {
  log('agent: TCP connections opened and closed on lo at 1000-10000/s, reported by the host agent (its CPU: node + bpftrace) against the load without the agent');
  agent = await agentBench(log);
}
let scaleout: ScaleoutResult | undefined;
if (wanted('scaleout')) {
  log('scaleout: events/s from a ZMQ producer to merges, through ingest node → JetStream (3 servers, replicas 3) → capture node, against the single process');
  scaleout = await scaleoutBench(log);
}

const results: Results & { agent?: AgentRow[]; scaleout?: ScaleoutResult } = { machine: machine(loadAtStart), ingest: ingestResults, capture: captureRows, memory: mem, recording: rec, push, conditional, agent, scaleout, anchor: NTOPNG_ANCHOR };
console.log(renderTable(results));
if (agent) console.log(`\n${renderAgentTable(agent)}`);
if (scaleout) console.log(renderScaleout(scaleout));
// latest.json is a full run's (the README quotes it); a partial run is named by its parts.
const file = asked.length === 0 ? 'latest.json' : `${[...new Set(asked)].sort().join('+')}.json`;
mkdirSync(RESULTS_DIR, { recursive: true });
writeFileSync(`${RESULTS_DIR}${file}`, `${JSON.stringify(results, null, 2)}\n`);
log(`\nwritten to bench/results/${file}`);
await cleanupAll();
process.exit(0);
