// The soak's verdict rules on series a user would recognise: memory that climbs is caught
// while a GC sawtooth is not, and an event that vanished is reported as unaccounted.
import { expect, it } from 'vitest';
import { balance, memoryTrend, type MemorySample, type Snapshot } from '../../bench/soak-ledger.ts';

const MIB = 1024 * 1024;
const series = (rss: (t: number) => number): MemorySample[] =>
  Array.from({ length: 61 }, (_, t) => ({ t, collectorBytes: rss(t), childrenBytes: 0, totalBytes: rss(t) }));

it('calls memory that keeps climbing growing, and a sawtooth around a level not', () => {
  // 3 MiB/s: its peaks stay under first half × 1.2 + 32 MiB for 60 s, its floor does not.
  const leak = memoryTrend(series((t) => 300 * MIB + t * 3 * MIB));
  expect(leak.lastQuarterMaxBytes).toBeLessThan(leak.limitBytes);
  expect(leak.growing).toBe(true);
  expect(leak.secondHalfSlopeMiBPerMinute).toBeCloseTo(180, 0);
  const sawtooth = memoryTrend(series((t) => 300 * MIB + (t % 10) * 8 * MIB));
  expect(sawtooth.growing).toBe(false);
  // Warm-up growth in the first half is not a leak.
  expect(memoryTrend(series((t) => (t < 20 ? 200 * MIB + t * 10 * MIB : 400 * MIB))).growing).toBe(false);
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
