// The soak in `npm test`: 60 seconds of flowbridge, as a process of its own, under a
// steady stream of events, bursts of malformed messages, UDP and TCP captured on lo, API,
// page and metrics polling with a token, and settings changed and changed back. It fails
// on any event that is neither merged nor counted, any malformed message not counted
// under its reason, resident memory that keeps growing, or a request that failed.
// A fixed moderate rate (not a calibration): CI's 2 cores are shared with the run.
import { expect } from 'vitest';
import { POLLED, SETTINGS_CYCLE } from '../../bench/soak-load.ts';
import { runSoak } from '../../bench/soak-run.ts';
import { itAsRoot } from '../support/privileges.ts';

itAsRoot('a 60-second soak accounts for every event, keeps its memory and answers every request', 'capture on lo', async () => {
  const lines: string[] = [];
  const r = await runSoak({
    seconds: 60, eventsPerSecond: 5_000, intervalSeconds: 10, burstEverySeconds: 5, burstEach: 10, settingsEverySeconds: 3, pollEveryMs: 500, udpPacketsPerSecond: 300,
  }, (line) => lines.push(line));
  const why = `\n${lines.join('\n')}`;

  // Every event sent went somewhere a user can see: merged into the flow table or counted by reason.
  expect(r.balance.sentEvents, why).toBeGreaterThan(50_000);
  expect(r.balance.merged + Object.values(r.balance.dropped).reduce((a, b) => a + b, 0), why).toBe(r.balance.sentEvents);
  expect(r.balance.unaccounted, why).toBe(0);
  // Every malformed message counted under the reason it was built for (a burst every 5 s, 10 of each kind).
  expect(r.balance.malformed.expected.json, why).toBeGreaterThanOrEqual(10);
  expect(Object.keys(r.balance.malformed.expected).sort()).toEqual(['frame-count', 'header-length', 'inflate', 'json', 'oversize', 'schema', 'tlv']);
  expect(r.balance.malformed.counted, why).toEqual(r.balance.malformed.expected);

  // Resident memory of the collector and its capture process stays bounded, and the live heap after full collections levels off.
  expect(r.memory.samples.length, why).toBeGreaterThanOrEqual(10);
  expect(r.memory.lastQuarterMaxBytes, why).toBeLessThanOrEqual(r.memory.limitBytes);
  expect(r.memory.liveHeapSamples.length, why).toBeGreaterThanOrEqual(5);
  expect(r.memory.liveHeap.lastQuarterMinBytes, why).toBeLessThanOrEqual(r.memory.liveHeap.limitBytes);

  // Polling and settings changes all answered 2xx; the capture kept seeing lo's traffic.
  for (const path of POLLED) expect(r.requests.byPath[`GET ${path}`]?.requests, `${path}${why}`).toBeGreaterThan(0);
  expect(r.requests.errors, why).toEqual([]);
  expect(r.settingsChanges, why).toBeGreaterThanOrEqual(SETTINGS_CYCLE.length);
  expect(r.loopback.captured.packets, why).toBeGreaterThan(0);
  expect(r.collector.statesAtEnd, why).toEqual({ [Object.keys(r.collector.statesAtEnd)[0]]: 'running', lo: 'running' });
  expect(r.collector.stop?.code, why).toBe(0);
  expect(r.verdict, why).toEqual({ passed: true, failures: [] });
}, 360_000);
