// Fills one flow table with a million flows built from events (process, parent and
// container attached) and reports resident memory. Run by memory.ts with --expose-gc.
import { normaliseSocketEvent } from '../src/collector/normalise.ts';
import { FlowTable } from '../src/interfaces/flow-table.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const FLOWS = Number(process.argv[2] ?? 1_000_000);
const gc = (globalThis as { gc?: () => void }).gc!;
const template = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'shared', 'fixtures', 'events', 'ebpflowexport-connect-docker.json'), 'utf8'));
gc();
const before = process.memoryUsage().rss;
const table = new FlowTable({ maxFlows: FLOWS });
for (let i = 0; i < FLOWS; i++) {
  const host = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  table.applyEvent(normaliseSocketEvent({ ...template, IPV4_SRC_ADDR: host, L4_SRC_PORT: 1024 + (i % 60000) }), 'bench');
}
gc();
const after = process.memoryUsage().rss;
process.stdout.write(JSON.stringify({ flows: table.stats().active, rssBefore: before, rssAfter: after }) + '\n');
