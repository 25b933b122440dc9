// The soak's verdict rules on series a user would recognise: memory that climbs is caught
// while a GC sawtooth is not, and an event that vanished is reported as unaccounted.
import { expect, it } from 'vitest';
import { balance, memoryTrend, type LiveHeapSample, type MemorySample, type Snapshot } from '../../bench/soak-ledger.ts';

const MIB = 1024 * 1024;
const series = (rss: (t: number) => number): MemorySample[] =>
  Array.from({ length: 61 }, (_, t) => ({ t, collectorBytes: rss(t), childrenBytes: 0, totalBytes: rss(t) }));
const heap = (bytes: (t: number) => number): LiveHeapSample[] => Array.from({ length: 6 }, (_, i) => ({ t: (i + 1) * 10, bytes: bytes((i + 1) * 10) }));
const level = heap(() => 120 * MIB);

it('calls a live heap that keeps climbing growing, and resident memory V8 is still growing not', () => {
  // 1 MiB/s of live heap: resident memory may look level, the heap after full collections does not.
  const leak = memoryTrend(series(() => 300 * MIB), heap((t) => 100 * MIB + t * MIB));
  expect(leak.lastQuarterMaxBytes).toBeLessThan(leak.limitBytes);
  expect(leak.growing).toBe(true);
  // 1.5 MiB/s of resident memory (V8 growing its young generation and old space before a first
  // full collection, as CI saw) over a level live heap: not a leak.
  const warming = memoryTrend(series((t) => 330 * MIB + t * 1.5 * MIB), level);
  expect(warming.growing).toBe(false);
  expect(warming.secondHalfSlopeMiBPerMinute).toBeCloseTo(90, 0);
  expect(memoryTrend(series((t) => 300 * MIB + (t % 10) * 8 * MIB), level).growing).toBe(false);
  // Resident memory past first half × 1.2 + 32 MiB is growing whatever the heap says (a worker's or a native leak).
  expect(memoryTrend(series((t) => 300 * MIB + t * 5 * MIB), level).growing).toBe(true);
  // No live-heap readings: nothing to judge by, so not a pass.
  expect(memoryTrend(series(() => 300 * MIB), []).growing).toBe(true);
});

const snapshot = (o: Partial<Snapshot>): Snapshot => ({
  messages: {}, accepted: {}, rejected: {}, lost: {}, delivered: {}, dispatchDropped: {}, queueSize: 0, otherDispatchDropped: {},
  capture: { packets: 0, bytes: 0, kernelDrops: 0, errors: {} }, states: {}, supervisedRestarts: 0, problems: [], ...o,
});

it('balances sent events against merged and counted ones, and names what is missing', () => {
  const before = snapshot({ delivered: { home: 1000 }, rejected: { json: 2 } });
  const after = snapshot({
    delivered: { home: 1000 + 900 }, accepted: { flow: 960 }, rejected: { json: 4, 'handoff-full': 40, schema: 5 },
    dispatchDropped: { 'queue-full': 20 }, lost: { 1: 1, 2: 0 },
  });
  const o = { eventsPerMessage: 20, goodSource: 1, malformedSource: 2, expectedMalformed: { json: 2, schema: 5 } };
  const even = balance(before, after, { ...o, sentEvents: 900 + 40 + 20 + 20 });
  expect(even.dropped).toEqual({ 'handoff-full': 40, 'queue-full': 20, 'msg_id-gap': 20 });
  expect(even.unaccounted).toBe(0);
  expect(even.malformed.mismatched).toEqual([]);
  const short = balance(before, after, { ...o, sentEvents: 1000, expectedMalformed: { json: 3, schema: 5, tlv: 1 } });
  expect(short.unaccounted).toBe(20);
  expect(short.malformed.mismatched).toEqual(['json', 'tlv']);
});
