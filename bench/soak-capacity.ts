// The ingest capacity the soak runs at half of: given, the ingest bench's figure from
// bench/results, or a short calibration against a collector of its own (thrown away
// after, so that its backlog and memory are not the soak's): rates rise ×1.5 in 3-s
// steps from 10 000 events/s while every event sent is merged within a second of the
// sender stopping (the ingest bench's rule, shorter).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectorFlags, startCollector, type SoakCollector } from './soak-flowbridge.ts';
import { readSnapshot, type Snapshot } from './soak-ledger.ts';
import { EventStream } from './soak-load.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const STEP_SECONDS = 3;
const DRAIN_LIMIT_MS = 1_000;
const FIRST_RATE = 10_000;
const GROWTH = 1.5;
const MAX_RATE = 2_000_000;

/** The ingest bench's figure for 20-event arrays with v3 headers (scenario b), from its newest results file. */
export function benchCapacity(dir: string): { eventsPerSecond: number; file: string } | undefined {
  for (const name of ['ingest.json', 'latest.json']) {
    try {
      const r = JSON.parse(readFileSync(join(dir, name), 'utf8')) as { ingest?: { scenario: string; eventsPerSecond: number }[] };
      const b = r.ingest?.find((s) => s.scenario === 'b');
      if (b && b.eventsPerSecond > 0) return { eventsPerSecond: b.eventsPerSecond, file: name };
    } catch {
      // absent or from an older format: try the next
    }
  }
  return undefined;
}

/** Events merged into the ZMQ interface's flow table (delivered home, less what still waits). */
const merged = (s: Snapshot) => (s.delivered.home ?? 0) - s.queueSize;

/** Waits until the collector's counters stop moving (and its queue is empty), or `maxMs`. */
export async function quiet(fb: SoakCollector, quietMs: number, maxMs: number, done?: (s: Snapshot) => boolean): Promise<Snapshot> {
  const deadline = Date.now() + maxMs;
  const moving = (s: Snapshot) => JSON.stringify([s.messages, s.rejected, s.delivered, s.dispatchDropped, s.queueSize]);
  // A busy collector may not answer one reading: the next one counts.
  const read = async (): Promise<Snapshot | undefined> => readSnapshot(fb).catch(() => (Date.now() > deadline ? Promise.reject(new Error('the collector did not answer')) : undefined));
  let last = await readSnapshot(fb);
  let lastMove = Date.now();
  for (;;) {
    await sleep(250);
    const next = await read();
    if (!next) continue;
    if (moving(next) !== moving(last)) lastMove = Date.now();
    last = next;
    if (next.queueSize === 0 && done?.(next)) return next;
    if ((next.queueSize === 0 && Date.now() - lastMove > quietMs) || Date.now() > deadline) return next;
  }
}

/**
 * The highest rising step the collector (started with `args`) merged whole; `stoppedBy`
 * says whether the collector or this process's own sending (the stream fell behind) ended it.
 */
export async function calibrate(endpoint: string, bpf: string, log: (line: string) => void): Promise<{ eventsPerSecond: number; stoppedBy: 'collector' | 'sender' | 'ceiling' }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'fb-soak-calibration-'));
  const fb = await startCollector(collectorFlags(endpoint, bpf, dataDir), `calibration-${process.pid}-token`);
  let stream: EventStream | undefined;
  try {
    for (let s = await readSnapshot(fb); s.states[`${endpoint}c`] !== 'running'; s = await readSnapshot(fb)) await sleep(200);
    stream = await EventStream.connect(fb, endpoint, { sourceId: 1, batch: 20, sendHighWaterMark: 100_000 });
    let good = 0;
    for (let rate = FIRST_RATE; rate <= MAX_RATE; rate = Math.round(rate * GROWTH)) {
      const before = await quiet(fb, 500, 30_000);
      const sent0 = stream.counts.events;
      const skipped0 = stream.counts.skipped;
      stream.start(rate);
      await sleep(STEP_SECONDS * 1000);
      await stream.stop();
      const stoppedAt = performance.now();
      const sent = stream.counts.events - sent0;
      let took = 0;
      for (;;) {
        took = merged(await readSnapshot(fb)) - merged(before);
        if (took >= sent || performance.now() - stoppedAt > DRAIN_LIMIT_MS) break;
        await sleep(50);
      }
      const kept = took >= sent;
      log(`  calibration: ${rate} events/s offered for ${STEP_SECONDS} s: sent ${sent}, merged ${took} within ${DRAIN_LIMIT_MS / 1000} s of the end ${kept ? 'PASS' : 'fail'}`);
      if (stream.counts.skipped > skipped0) return { eventsPerSecond: good || rate, stoppedBy: 'sender' };
      if (!kept) return { eventsPerSecond: good, stoppedBy: 'collector' };
      good = rate;
    }
    return { eventsPerSecond: good, stoppedBy: 'ceiling' };
  } finally {
    stream?.close();
    await fb.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
