// What `bench/profile-stages.ts` runs under `node --cpu-prof`: one side of the
// pipeline in a loop over the load generator's payloads, socket-free.
//   profile-stages-target.ts LOADGEN SCENARIO(a|b) collector|main SECONDS
import { BatchPacker, transferListOf, unpackBatch, type PackedBatch } from '../src/collector/handoff.ts';
import { Ingest } from '../src/collector/ingest.ts';
import { headerFrame, loadgenPayloads, withHomeDispatcher } from './ingest-floor.ts';
import { SCENARIOS } from './ingest.ts';

const [loadgen, name, part, seconds] = process.argv.slice(2);
const s = SCENARIOS.find((x) => x.name === name);
if (!s) throw new Error(`scenario ${name}: a or b`);
const payloads = loadgenPayloads(loadgen, s.batch);
const header = headerFrame(s.header);
const BATCH = 512;
const until = performance.now() + Number(seconds) * 1000;

/** Every payload through a fresh Ingest into packed batches (the collector thread's work). */
function packed(ingest: Ingest, keep: boolean): PackedBatch[] {
  const sink = new BatchPacker();
  const out: PackedBatch[] = [];
  for (const p of payloads) {
    ingest.message([header, p], 'tcp://127.0.0.1:17000c', '127.0.0.1', sink, 0);
    if (sink.count >= BATCH) {
      const b = sink.take();
      if (keep) out.push(b);
    }
  }
  if (keep && sink.count > 0) out.push(sink.take());
  return out;
}

let events = 0;
if (part === 'collector') {
  const ingest = new Ingest(0);
  while (performance.now() < until) {
    packed(ingest, false);
    events += payloads.length * s.batch;
  }
} else {
  const batches = packed(new Ingest(0), true);
  withHomeDispatcher(1 << 20, (dispatcher, zmq) => {
    while (performance.now() < until) {
      for (const b of batches) {
        // What postMessage does: the slots move (a copy here, so the batch can be used again), the rest is cloned.
        const copy = { ...b, slots: b.slots.slice() };
        dispatcher.dispatch(zmq, unpackBatch(structuredClone(copy, { transfer: transferListOf(copy) })));
        dispatcher.flush();
        events += b.count;
      }
    }
  });
}
process.stderr.write(`${part}: ${events} events in ${seconds} s\n`);
