// The soak: flowbridge in a process of its own, capturing lo and collecting ZMQ on
// loopback, fed for a while with fixture events at a steady rate (half the ingest
// capacity, unless a rate is given), bursts of malformed messages, UDP and TCP on lo,
// API, page and metrics polling with the token, and settings changed and changed back.
// Every interval it reports resident memory (the collector and its capture processes),
// events sent / received / merged / dropped by reason, request errors and restarts; at
// the end, after the collector has taken everything, a verdict: every event accounted
// for, memory not growing, no errors.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchCapacity, calibrate, quiet } from './soak-capacity.ts';
import { collectorFlags, processTree, startCollector, type ProcessMemory } from './soak-flowbridge.ts';
import { balance, difference, memoryTrend, readSnapshot, type Balance, type LiveHeapSample, type MemorySample, type MemoryTrend, type Snapshot } from './soak-ledger.ts';
import { describeError, EventStream, LoopbackTraffic, MalformedBursts, Pollers, RequestLog, SettingsCycle, type LoopbackCounts } from './soak-load.ts';

export interface SoakOptions {
  seconds: number;
  /** Events/s of the steady stream; when absent, half of `capacity`. */
  eventsPerSecond?: number;
  /** Ingest capacity in events/s; when absent, taken from bench/results (ingest b), else calibrated. */
  capacity?: number;
  /** Seconds between reports. */
  intervalSeconds?: number;
  /** Seconds between bursts of malformed messages, and messages of each kind per burst. */
  burstEverySeconds?: number;
  burstEach?: number;
  settingsEverySeconds?: number;
  pollEveryMs?: number;
  udpPacketsPerSecond?: number;
  /** Where results of the ingest bench are (for the capacity); default bench/results. */
  resultsDir?: string;
}

export interface SoakInterval {
  t: number;
  memory: ProcessMemory[];
  totalRssBytes: number;
  sentEvents: number;
  receivedEvents: number;
  merged: number;
  dropped: Record<string, number>;
  inFlight: number;
  malformedSent: number;
  malformedCounted: number;
  capturePackets: number;
  requests: number;
  requestErrors: number;
  restarts: number;
  captureProcessStarts: number;
}

export interface SoakResult {
  startedAt: string;
  machine: { cpu: string; cores: number; loadAtStart: number; loadAtEnd: number };
  seconds: number;
  eventsPerSecond: number;
  /** Where the rate came from: given, half of a given capacity, the ingest bench's figure, or a calibration. */
  rateFrom: string;
  capacity?: number;
  intervals: SoakInterval[];
  balance: Balance;
  memory: MemoryTrend & { samples: MemorySample[]; liveHeapSamples: LiveHeapSample[] };
  stream: { messages: number; events: number; skipped: number };
  /** What was sent on lo, and what the capture counted (summed across its restarts, which reset its counters). */
  loopback: LoopbackCounts & { captured: { packets: number; bytes: number; kernelDrops: number; countersReset: number; errors: Record<string, number> } };
  requests: { total: number; failures: number; byPath: RequestLog['byPath']; errors: RequestLog['kept'] };
  settingsChanges: number;
  /** Restarts counted by the collector's supervision (any `restarts` of an interface), and capture processes started after the first. */
  restarts: { supervised: number; captureProcessStarts: number };
  collector: { exited?: { code: number | null; signal: string | null }; stop?: { code: number | null; signal: string | null; seconds: number }; statesAtEnd: Record<string, string>; problemsAtEnd: string[] };
  verdict: { passed: boolean; failures: string[] };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MIB = 1024 * 1024;
const mib = (b: number) => `${(b / MIB).toFixed(1)} MiB`;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/**
 * The capture's counters count since its process started: a restarted capture (a
 * recording switched on or off, a crash) starts again from 0. Summed across restarts
 * from the readings taken; what a process counted after its last reading is missed.
 */
class AcrossRestarts {
  total: Record<'packets' | 'bytes' | 'kernelDrops', number> = { packets: 0, bytes: 0, kernelDrops: 0 };
  resets = 0;
  #last: Snapshot['capture'];

  constructor(first: Snapshot['capture']) {
    this.#last = first;
  }

  read(now: Snapshot['capture']): void {
    const reset = now.packets < this.#last.packets;
    if (reset) this.resets++;
    for (const k of ['packets', 'bytes', 'kernelDrops'] as const) this.total[k] += reset ? now[k] : Math.max(0, now[k] - this.#last[k]);
    this.#last = now;
  }
}

function statesRunning(s: Snapshot): boolean {
  return Object.values(s.states).length >= 2 && Object.values(s.states).every((x) => x === 'running');
}

export async function runSoak(o: SoakOptions, log: (line: string) => void): Promise<SoakResult> {
  const interval = o.intervalSeconds ?? 10;
  const burstEvery = o.burstEverySeconds ?? 10;
  const settingsEvery = o.settingsEverySeconds ?? 5;
  const startedAt = new Date().toISOString();
  const loadAtStart = Math.round(loadavg()[0] * 100) / 100;
  const dataDir = mkdtempSync(join(tmpdir(), 'fb-soak-'));
  const traffic = await LoopbackTraffic.open();
  const port = await freePort();
  const endpoint = `tcp://127.0.0.1:${port}`;
  const token = `soak-${Math.random().toString(36).slice(2)}`;

  let rate: number;
  let rateFrom: string;
  let capacity = o.capacity;
  if (o.eventsPerSecond) {
    rate = o.eventsPerSecond;
    rateFrom = 'given (--rate)';
  } else {
    if (capacity) rateFrom = 'half of the given capacity (--capacity)';
    else {
      const bench = benchCapacity(o.resultsDir ?? join(import.meta.dirname, 'results'));
      if (bench) {
        capacity = bench.eventsPerSecond;
        rateFrom = `half of the ingest bench's figure (bench/results/${bench.file}, scenario b)`;
      } else {
        log('soak: no ingest figure in bench/results: calibrating against a collector of its own (3-s steps from 10 000 events/s, ×1.5)');
        const c = await calibrate(endpoint, traffic.bpf, log).catch(async (err: unknown) => {
          await traffic.close();
          rmSync(dataDir, { recursive: true, force: true });
          throw err;
        });
        // Not even the first step passed (a very busy machine): the soak runs at half of it.
        capacity = c.eventsPerSecond || 10_000;
        rateFrom = `half of a calibration against a collector of its own (rising 3-s steps merged whole${c.stoppedBy === 'sender' ? '; the sender, not the collector, was the limit' : ''}${c.eventsPerSecond ? '' : '; not even the first, 10 000 events/s, passed'})`;
      }
    }
    rate = Math.round(capacity / 2);
  }

  log(`soak: starting flowbridge (-i ${endpoint}c -i lo, capture filter "${traffic.bpf}", data in ${dataDir})`);
  const fb = await startCollector(collectorFlags(endpoint, traffic.bpf, dataDir), token).catch(async (err: unknown) => {
    await traffic.close();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  });
  const requests = new RequestLog();
  const streams: { close(): void }[] = [];
  const timers: NodeJS.Timeout[] = [];
  let pollers: Pollers | undefined;
  try {
    let ready = await readSnapshot(fb);
    for (const deadline = Date.now() + 30_000; !statesRunning(ready); ready = await readSnapshot(fb)) {
      if (Date.now() > deadline) throw new Error(`interfaces did not start: ${JSON.stringify(ready.states)} ${ready.problems.join('; ')}`);
      await sleep(200);
    }
    const stream = await EventStream.connect(fb, endpoint, { sourceId: 1, batch: 20, sendHighWaterMark: 100_000 });
    streams.push(stream);
    const malformed = await MalformedBursts.connect(fb, endpoint, 2);
    streams.push(malformed);
    log(`soak: ${rate} events/s (${rateFrom}${capacity ? `; capacity ${capacity} events/s` : ''}) for ${o.seconds} s`);

    const base = await quiet(fb, 1_000, 60_000);
    const began = performance.now();
    const now = () => Math.round((performance.now() - began) / 100) / 10;
    const firstChildren = new Set(processTree(fb.pid).slice(1).map((p) => p.pid));
    const seenChildren = new Set(firstChildren);
    let captureProcessStarts = 0;
    const samples: MemorySample[] = [];
    const liveHeapSamples: LiveHeapSample[] = [];
    const intervals: SoakInterval[] = [];
    const settings = new SettingsCycle(fb, requests);
    const captured = new AcrossRestarts(base.capture);
    let snapshotErrors = 0;
    const streamStartMessages = stream.counts.messages;
    const streamStartEvents = stream.counts.events;
    const streamStartSkipped = stream.counts.skipped;
    const sent = () => stream.counts.events - streamStartEvents;

    const sampleMemory = (): ProcessMemory[] => {
      const tree = processTree(fb.pid);
      for (const p of tree.slice(1)) {
        if (!seenChildren.has(p.pid)) {
          seenChildren.add(p.pid);
          if (p.name.includes('capture')) captureProcessStarts++;
        }
      }
      const collector = tree[0]?.rssBytes ?? 0;
      const all = tree.reduce((a, p) => a + p.rssBytes, 0);
      samples.push({ t: now(), collectorBytes: collector, childrenBytes: all - collector, totalBytes: all });
      return tree;
    };

    stream.start(rate);
    traffic.start({ packetsPerSecond: o.udpPacketsPerSecond ?? 500, size: 200, tcpEveryMs: 1_000, tcpBytes: 32 * 1024 });
    pollers = new Pollers(fb, requests);
    pollers.start(o.pollEveryMs ?? 1_000);
    let busy = Promise.resolve();
    const serial = (fn: () => Promise<void>) => (busy = busy.then(fn, fn));
    timers.push(setInterval(() => void serial(() => malformed.burst(o.burstEach ?? 20)), burstEvery * 1000));
    timers.push(setInterval(() => void serial(() => settings.next()), settingsEvery * 1000));
    timers.push(setInterval(() => {
      sampleMemory();
    }, Math.min(2_000, interval * 1000)));

    const report = async () => {
      const heapBytes = await fb.liveHeap();
      if (heapBytes !== undefined) liveHeapSamples.push({ t: now(), bytes: heapBytes });
      const tree = sampleMemory();
      let snap: Snapshot;
      try {
        snap = await readSnapshot(fb);
      } catch (err) {
        snapshotErrors++;
        requests.fail('GET', '/api/v1/interfaces (the soak\'s own reading)', 0, describeError(err));
        log(`soak: t=${now()} s: cannot read the counters: ${describeError(err)}`);
        return;
      }
      captured.read(snap.capture);
      const b = balance(base, snap, { sentEvents: sent(), eventsPerMessage: 20, goodSource: 1, malformedSource: 2, expectedMalformed: malformed.expected });
      const row: SoakInterval = {
        t: now(), memory: tree, totalRssBytes: tree.reduce((a, p) => a + p.rssBytes, 0),
        sentEvents: b.sentEvents, receivedEvents: b.receivedEvents, merged: b.merged, dropped: b.dropped, inFlight: b.unaccounted,
        malformedSent: Object.values(malformed.expected).reduce((a, x) => a + x, 0),
        malformedCounted: Object.values(b.malformed.counted).reduce((a, x) => a + x, 0),
        capturePackets: captured.total.packets,
        requests: requests.requests, requestErrors: requests.failures,
        restarts: snap.supervisedRestarts - base.supervisedRestarts, captureProcessStarts,
      };
      intervals.push(row);
      const drops = Object.entries(row.dropped).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
      log(`soak: t=${row.t} s  RSS ${tree.map((p) => `${p.name} ${mib(p.rssBytes)}`).join(' + ')} = ${mib(row.totalRssBytes)}${heapBytes === undefined ? '' : `, live heap ${mib(heapBytes)}`} | ` +
        `events sent ${row.sentEvents}, received ${row.receivedEvents}, merged ${row.merged}, dropped ${drops}, in flight ${row.inFlight} | ` +
        `malformed sent ${row.malformedSent}, counted ${row.malformedCounted} | lo packets ${row.capturePackets} | ` +
        `requests ${row.requests}, errors ${row.requestErrors} | restarts ${row.restarts}, capture starts ${captureProcessStarts}`);
    };

    const end = began + o.seconds * 1000;
    while (performance.now() < end && !fb.exited()) {
      await sleep(Math.min(interval * 1000, end - performance.now()));
      if (!fb.exited()) await report();
    }
    for (const t of timers.splice(0)) clearInterval(t);
    await stream.stop();
    await pollers.stop();
    await busy;
    if (!fb.exited()) await settings.finish();
    // Memory is judged over the load itself, before the drain.
    const trend = memoryTrend(samples, liveHeapSamples);

    // The collector takes what is still in flight: every event merged or counted, or nothing moves for 5 s.
    const sentEvents = sent();
    const settle = (s: Snapshot) => {
      const b = balance(base, s, { sentEvents, eventsPerMessage: 20, goodSource: 1, malformedSource: 2, expectedMalformed: malformed.expected });
      return b.unaccounted <= 0 && b.malformed.mismatched.length === 0;
    };
    const last = fb.exited() ? base : await quiet(fb, 5_000, 120_000, settle);
    const final = balance(base, last, { sentEvents, eventsPerMessage: 20, goodSource: 1, malformedSource: 2, expectedMalformed: malformed.expected });
    captured.read(last.capture);
    const capturedLo = { ...captured.total, countersReset: captured.resets, errors: difference(last.capture.errors, base.capture.errors) };
    const exited = fb.exited();
    const restarts = { supervised: last.supervisedRestarts - base.supervisedRestarts, captureProcessStarts };

    const failures: string[] = [];
    if (exited) failures.push(`flowbridge exited during the soak (${exited.code ?? exited.signal}): ${fb.output().trim().split('\n').slice(-5).join(' / ')}`);
    if (final.unaccounted !== 0) failures.push(`${final.unaccounted} of ${final.sentEvents} events sent are neither merged nor counted`);
    if (final.malformed.mismatched.length) {
      failures.push(`malformed messages not counted as sent: ${final.malformed.mismatched.map((r) => `${r} sent ${final.malformed.expected[r] ?? 0}, counted ${final.malformed.counted[r] ?? 0}`).join('; ')}` +
        (final.malformed.gapLost ? ` (${final.malformed.gapLost} of its messages lost on the way)` : ''));
    }
    if (trend.growing) {
      const h = trend.liveHeap;
      failures.push(`memory keeps growing: resident memory's last quarter peaks at ${mib(trend.lastQuarterMaxBytes)} against the first half's ${mib(trend.firstHalfMaxBytes)} ` +
        `(allowed: ${mib(trend.limitBytes)} = × 1.2 + 32 MiB; second-half slope ${trend.secondHalfSlopeMiBPerMinute} MiB/min); the live heap after full collections ` +
        `is at least ${mib(h.lastQuarterMinBytes)} in the last quarter against at most ${mib(h.firstHalfMaxBytes)} in the first half (allowed: ${mib(h.limitBytes)} = + 16 MiB; ${liveHeapSamples.length} readings)`);
    }
    const errors = requests.failures;
    if (errors) failures.push(`${errors} requests failed: ${requests.kept.slice(0, 5).map((e) => `${e.method} ${e.path} → ${e.status} ${e.detail}`).join('; ')}`);
    if (!exited && !statesRunning(last)) failures.push(`interfaces not running at the end: ${JSON.stringify(last.states)} ${last.problems.join('; ')}`);
    if (!exited && capturedLo.packets === 0) failures.push('the capture on lo saw none of the loopback traffic');

    const stop = exited ? undefined : await fb.stop();
    if (stop && stop.code !== 0) failures.push(`flowbridge did not stop cleanly on SIGTERM (${stop.code ?? stop.signal} after ${stop.seconds} s)`);
    log(`soak: done: ${failures.length ? `FAIL\n  ${failures.join('\n  ')}` : 'PASS'}`);
    return {
      startedAt,
      machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, loadAtStart, loadAtEnd: Math.round(loadavg()[0] * 100) / 100 },
      seconds: o.seconds,
      eventsPerSecond: rate,
      rateFrom,
      capacity,
      intervals,
      balance: final,
      memory: { ...trend, samples, liveHeapSamples },
      stream: { messages: stream.counts.messages - streamStartMessages, events: sentEvents, skipped: stream.counts.skipped - streamStartSkipped },
      loopback: { ...traffic.counts, captured: capturedLo },
      requests: { total: requests.requests, failures: errors, byPath: requests.byPath, errors: requests.kept },
      settingsChanges: settings.changes,
      restarts,
      collector: { exited: exited ?? undefined, stop, statesAtEnd: last.states, problemsAtEnd: last.problems },
      verdict: { passed: failures.length === 0, failures },
    };
  } finally {
    for (const t of timers) clearInterval(t);
    await pollers?.stop();
    for (const s of streams) s.close();
    if (!fb.exited()) await fb.stop();
    await traffic.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
