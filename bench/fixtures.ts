// The events the load generator cycles through: every shared fixture that a producer
// publishes on the `flow` topic (ebpflowexport's events, netstat snapshots, nprobe
// agent events; see fixtures/events/README.md), in a fixed order.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

export const FIXTURE_DIR = join(import.meta.dirname, '..', 'test', 'fixtures', 'events');

const FLOW_TOPIC = /^(ebpflowexport|nprobe-mini|netstat)-.*\.json$/;

export function flowFixtures(): string[] {
  return readdirSync(FIXTURE_DIR).filter((f) => FLOW_TOPIC.test(f)).sort().map((f) => join(FIXTURE_DIR, f));
}
