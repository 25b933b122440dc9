// Fills one flow table with FLOWS flows through the real FlowTable API, each built from
// an ebpflowexport event (process, parent and container attached, from one of a
// thousand processes), and reports resident memory before and after as one JSON line.
// Run by memory.ts with --expose-gc, in a process of its own so nothing else counts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { normaliseSocketEvent } from '../src/collector/events/normalise.ts';
import { FlowTable } from '../src/flows/flow-table.ts';
import { FIXTURE_DIR } from './fixtures.ts';

const FLOWS = Number(process.argv[2] ?? 1_000_000);
const PROCESSES = 1_000;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

const template = JSON.parse(readFileSync(join(FIXTURE_DIR, 'ebpflowexport-connect-docker.json'), 'utf8'));
gc();
const rssBefore = process.memoryUsage().rss;
const started = performance.now();
// No idle timeout: every flow stays active however long the build takes.
const table = new FlowTable({ maxFlows: FLOWS, idleTimeoutMs: Infinity, closedGraceMs: Infinity });
for (let i = 0; i < FLOWS; i++) {
  const event = {
    ...template,
    IPV4_SRC_ADDR: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    L4_SRC_PORT: 32768 + (i % 28000),
    LOCAL_PROCESS: { ...template.LOCAL_PROCESS, PID: 10_000 + (i % PROCESSES), TID: 10_000 + (i % PROCESSES) },
  };
  table.applyEvent(normaliseSocketEvent(event), 'bench');
}
const buildSeconds = (performance.now() - started) / 1000;
gc();
const rssAfter = process.memoryUsage().rss;
process.stdout.write(`${JSON.stringify({ flows: table.stats().active, rssBefore, rssAfter, buildSeconds })}\n`);
