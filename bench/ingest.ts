// Ingest benchmark: the C load generator offers fixture events to the real, assembled
// pipeline (startFlowbridge: libzmq receive thread → decode → validate → normalise →
// hand-off → dispatch → merge into the ZMQ interface's flow table) in steps of a few
// seconds at rising rates. The figure is the highest rate the pipeline sustains with
// no loss at all: every event sent merged, and the backlog cleared within half a
// second after the sender stops (else the rate only "passed" because queues absorbed
// it). Each step's ledger also says whether every loss was accounted for by a counter.
// The C subscriber that only counts gives the transport ceiling in the same run.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../src/config.ts';
import { startFlowbridge, type RunningFlowbridge } from '../src/flowbridge.ts';
import { ZmqInterface } from '../src/interfaces/zmq-interface.ts';
import { onCleanup } from './children.ts';
import { bestFloor, loadgenPayloads, parseFloor, stageCosts, type ParseFloor, type StageCosts } from './ingest-floor.ts';
import { balance, countedTotal, countersChanged, readCounters, type Counters, type Ledger } from './ingest-ledger.ts';
import { offerHeld, transportCeiling, type Ceiling, type Generated } from './loadgen.ts';
import { asCores, cpuUsed, readMachineBusy, readThreadCpu, type CpuUsed } from './thread-cpu.ts';

const COLLECTOR_PORT = 17000;
const CEILING_PORT = 17010;
const STEP_SECONDS = 3;
/** A step whose backlog took longer than this to clear after the sender stopped did not keep up. */
const DRAIN_LIMIT_SECONDS = 0.5;
/**
 * When nothing has moved for this long after the sender stopped, what is missing is
 * lost. Generous: an overloaded process on a shared machine can pause (a major GC with
 * millions of events queued) and would otherwise show events still queued as lost.
 */
const QUIET_MS = 2_000;
const POLL_MS = 50;
const MAX_WAIT_AFTER_SEND_MS = 30_000;
/** Search: rates grow by this factor until a step fails, then the gap is bisected. */
const GROWTH = 1.5;
const BISECTIONS = 3;
const ATTEMPTS = 2;
const MAX_STEPS = 16;
/**
 * The generator's send high-water mark during the search, in messages. With libzmq's
 * default (1000) any 10-ms stall of the receiving process loses messages, and on this
 * shared 2-core machine even the C subscriber loses some at an eighth of its ceiling:
 * the figure would measure the neighbours. This matches the collector's own receive
 * bound; the drain limit above keeps it from hiding overload.
 */
const SEARCH_HWM = 100_000;
/**
 * The overload probe: three times the figure for long enough to overflow the collector's
 * receive queue (100 000 messages, 2 M events in (b)), with libzmq's default send
 * high-water mark as producers have it, so that events are really lost.
 */
const OVERLOAD_FACTOR = 3;
const OVERLOAD_SECONDS = 8;
/**
 * The probe's producer waits this long before its last message (the one that reveals a
 * msg_id gap at the end): sent at once, it could meet the full pipe libzmq drops it from.
 */
const OVERLOAD_SETTLE_SECONDS = 1;
const PRODUCER_HWM = 1_000;

export interface IngestScenario {
  name: string;
  description: string;
  header: 0 | 3;
  batch: number;
  /** The first rate offered, in events/s. */
  startEventsPerSecond: number;
  /** The round's target, in events/s. */
  target: number;
  /** The goal as a share of the parse floor measured in the same run (issue 14). */
  floorGoal: number;
}

/** The issue's two scenarios, with this round's targets. */
export const SCENARIOS: IngestScenario[] = [
  { name: 'a', description: '1 event/msg, v0 header', header: 0, batch: 1, startEventsPerSecond: 50_000, target: 150_000, floorGoal: 0.6 },
  { name: 'b', description: '20 events/msg (JSON array), v3 header', header: 3, batch: 20, startEventsPerSecond: 100_000, target: 400_000, floorGoal: 0.8 },
];

export interface IngestStep extends Ledger {
  /** The rate asked of the generator. */
  targetEventsPerSecond: number;
  /** What it sent: events over its send window. */
  offeredEventsPerSecond: number;
  /** From the end of the send window to the last counter change. */
  drainSeconds: number;
  /** Events merged over the time from the first send to the last merge. */
  sustainedEventsPerSecond: number;
  /** Every event sent was merged. */
  lossless: boolean;
  /** The backlog cleared within DRAIN_LIMIT_SECONDS of the sender stopping. */
  keptUp: boolean;
  passed: boolean;
  /** Cores used over the step (and its drain) by the main thread, the busiest other thread (the collector's), the rest, and the whole machine. */
  cpu: CpuUsed;
  /** CPU time per event merged, in µs, by the same groups of threads (machine: every process). */
  cpuPerEventUs: CpuUsed;
  /** How long the generator's last (never dropped) message waited for room after the window. */
  finalWaitSeconds: number;
}

export interface IngestResult {
  scenario: string;
  description: string;
  target: number;
  /** The goal as a share of the parse floor. */
  floorGoal: number;
  /** Highest sustained events/s of a passed step (lossless and kept up); 0 if none passed. */
  eventsPerSecond: number;
  /** The best passing rate offered once more after the search: did it pass again? */
  confirmation?: IngestStep;
  ceiling: Ceiling;
  /** The parse floor on the generator's own payloads (the best of a measurement before and one after the search). */
  floor: ParseFloor;
  /** eventsPerSecond / floor.eventsPerSecond. */
  floorRatio: number;
  /** eventsPerSecond / the C subscriber's events per second. */
  ceilingRatio: number;
  /**
   * The same comparison on CPU time, which neighbours on the machine disturb far less:
   * the floor's CPU µs per event / the busiest pipeline thread's (main or collector) at
   * the figure. The rate the pipeline would reach with a core per thread, as a share of the floor.
   */
  cpuFloorRatio: number;
  /** CPU µs per event of each stage run alone on the same payloads (ingest-floor.ts). */
  stages: StageCosts;
  /**
   * A step at OVERLOAD_FACTOR times the figure with the producers' default high-water
   * mark: how loss shows when the pipeline cannot keep up (counted or unaccounted).
   */
  overload?: IngestStep;
  /** Steps whose every lost event was in a counter (unaccounted == 0). */
  balancedSteps: number;
  steps: IngestStep[];
}

export interface Pipeline {
  fb: RunningFlowbridge;
  zmq: ZmqInterface;
  stop(): Promise<void>;
}

/** The assembled collector with one ZMQ interface bound on 127.0.0.1, no HTTP. */
export async function startPipeline(): Promise<Pipeline> {
  const dataDir = mkdtempSync(join(tmpdir(), 'fbbench-'));
  const config = resolveConfig({}, { interfaces: [`tcp://127.0.0.1:${COLLECTOR_PORT}c`], dataDir });
  const teardown = async () => {
    await fb?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  const unregister = onCleanup(teardown);
  let fb: RunningFlowbridge | undefined;
  fb = await startFlowbridge(config, { http: false });
  const zmq = fb.registry.zmqInterfaces()[0];
  if (!(zmq instanceof ZmqInterface)) throw new Error('the pipeline has no ZMQ interface');
  const status = zmq.status();
  if (status.state !== 'running') throw new Error(`ZMQ interface not running: ${status.error ?? status.state}`);
  return {
    fb,
    zmq,
    async stop() {
      unregister();
      await teardown();
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Offers one rate for a few seconds and balances what was sent against the counters. */
export async function runStep(p: Pipeline, loadgen: string, s: IngestScenario, eventsPerSecond: number, sourceId: number, o: { hwm?: number; seconds?: number; settle?: number } = {}): Promise<IngestStep> {
  const read = () => readCounters(p.zmq, p.fb.dispatcher);
  const before = await read();
  const cpuBefore = readThreadCpu();
  const machineBefore = readMachineBusy();
  const launched = performance.now();
  let generated: Generated | undefined;
  let failed: unknown;
  const generator = offerHeld(loadgen, {
    endpoint: `tcp://127.0.0.1:${COLLECTOR_PORT}`, header: s.header, batch: s.batch,
    rate: eventsPerSecond / s.batch, seconds: o.seconds ?? STEP_SECONDS, hwm: o.hwm ?? SEARCH_HWM, settle: o.settle,
    // A new source per step: its msg_id gaps are this step's, and a restart is not a gap.
    msgId: 1, sourceId,
  });
  generator.report.then((g) => (generated = g), (err) => (failed = err));

  // Watch the counters until everything sent is merged or counted, or nothing moves.
  let last: Counters = before;
  let lastMove = launched;
  for (;;) {
    await sleep(POLL_MS);
    const next = await read();
    if (countersChanged(next, last)) lastMove = performance.now();
    last = next;
    if (failed) {
      // Usually the collector itself: say what its interface reports.
      const status = p.zmq.status();
      throw new Error(`${(failed as Error).message} (ZMQ interface: ${status.state}${status.error ? `, ${status.error}` : ''})`);
    }
    if (!generated) continue;
    const ledger = balance(before, last, generated.sent, s.batch);
    if (ledger.merged + countedTotal(ledger) >= ledger.sentEvents) break;
    const sendEnd = launched + (generated.startOffset + generated.sendSeconds) * 1000;
    const now = performance.now();
    if (now - lastMove > QUIET_MS || now - sendEnd > MAX_WAIT_AFTER_SEND_MS) break;
  }
  // Only now may the producer leave: everything it sent has been merged, counted or given up on.
  await generator.release();
  const g = generated!;
  const used = cpuUsed(cpuBefore, readThreadCpu(), readMachineBusy() - machineBefore);
  const ledger = balance(before, last, g.sent, s.batch);
  const firstSend = launched + g.startOffset * 1000;
  const sendEnd = firstSend + g.sendSeconds * 1000;
  const drainSeconds = Math.max(0, (lastMove - sendEnd) / 1000);
  const busySeconds = Math.max(g.sendSeconds, (lastMove - firstSend) / 1000);
  const lossless = ledger.merged === ledger.sentEvents;
  const keptUp = drainSeconds <= DRAIN_LIMIT_SECONDS;
  return {
    targetEventsPerSecond: Math.round(eventsPerSecond),
    offeredEventsPerSecond: Math.round(g.events / g.sendSeconds),
    ...ledger,
    drainSeconds: Math.round(drainSeconds * 1000) / 1000,
    sustainedEventsPerSecond: Math.round(ledger.merged / busySeconds),
    lossless,
    keptUp,
    passed: lossless && keptUp,
    cpu: asCores(used, (performance.now() - launched) / 1000),
    cpuPerEventUs: perEvent(used, ledger.merged),
    finalWaitSeconds: g.finalWaitSeconds,
  };
}

/** Ceiling first, then the rate search against a fresh pipeline. */
export async function ingest(tools: { loadgen: string; sub: string }, s: IngestScenario, log: (line: string) => void): Promise<IngestResult> {
  const ceiling = await transportCeiling(tools, { endpoint: `tcp://127.0.0.1:${CEILING_PORT}`, header: s.header, batch: s.batch, seconds: STEP_SECONDS });
  log(`  ${s.name}: transport ceiling (C subscriber) ${Math.round(ceiling.messagesPerSecond)} msg/s = ${Math.round(ceiling.eventsPerSecond)} events/s`);
  const payloads = loadgenPayloads(tools.loadgen, s.batch);
  const floorBefore = parseFloor(payloads, s.batch);
  log(`  ${s.name}: parse floor (UTF-8 + JSON.parse, one thread, same payloads) ${floorBefore.eventsPerSecond} events/s (${floorBefore.eventsPerCpuSecond} per CPU second)`);

  const p = await startPipeline();
  const steps: IngestStep[] = [];
  let overload: IngestStep | undefined;
  let confirmation: IngestStep | undefined;
  try {
    // Warm-up (connection, subscription, JIT, flow table filled with the generator's
    // flows), not kept: a cold pipeline's first second is not its steady state.
    await runStep(p, tools.loadgen, s, s.startEventsPerSecond / 2, 1);
    // A rate fails only when it fails twice in a row: this 2-core machine is shared, and
    // a neighbour's burst of work is not flowbridge's limit. Both tries are kept.
    const step = async (rate: number) => {
      for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
        const r = await runStep(p, tools.loadgen, s, rate, steps.length + 2);
        steps.push(r);
        log(`  ${s.name}: ${describeStep(r)} ${r.passed ? 'PASS' : attempt < ATTEMPTS ? 'fail, once more' : 'fail'}`);
        if (r.passed) return true;
      }
      return false;
    };
    // Grow until a step fails (or the transport ceiling is reached), then bisect.
    let good = 0;
    let bad = 0;
    for (let rate = s.startEventsPerSecond; steps.length < MAX_STEPS; rate *= GROWTH) {
      if (rate > ceiling.eventsPerSecond) break;
      if (await step(rate)) good = rate;
      else {
        bad = rate;
        break;
      }
    }
    // The first rate failed: come down until one passes.
    for (let rate = s.startEventsPerSecond / 2; good === 0 && bad > 0 && rate > 1_000 && steps.length < MAX_STEPS; rate /= 2) {
      if (await step(rate)) good = rate;
      else bad = rate;
    }
    for (let i = 0; i < BISECTIONS && good > 0 && bad > 0 && steps.length < MAX_STEPS; i++) {
      const mid = (good + bad) / 2;
      if (await step(mid)) good = mid;
      else bad = mid;
    }
    // The search keeps the best of noisy tries: offer the figure itself once more, so the
    // table can say whether it held twice.
    const best = Math.max(0, ...steps.filter((x) => x.passed).map((x) => x.sustainedEventsPerSecond));
    if (best > 0) {
      confirmation = await runStep(p, tools.loadgen, s, best, steps.length + 2);
      log(`  ${s.name}: confirmation: ${describeStep(confirmation)} ${confirmation.passed ? 'PASS' : 'fail'}`);
    }
    if (best > 0) {
      overload = await runStep(p, tools.loadgen, s, best * OVERLOAD_FACTOR, steps.length + 3, { hwm: PRODUCER_HWM, seconds: OVERLOAD_SECONDS, settle: OVERLOAD_SETTLE_SECONDS });
      log(`  ${s.name}: overload probe (×${OVERLOAD_FACTOR}, producer HWM ${PRODUCER_HWM}): ${describeStep(overload)}`);
    }
  } finally {
    await p.stop();
  }
  const eventsPerSecond = Math.max(0, ...steps.filter((x) => x.passed).map((x) => x.sustainedEventsPerSecond));
  const floor = bestFloor(floorBefore, parseFloor(payloads, s.batch));
  const stages = stageCosts(payloads, s.batch, s.header);
  const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 100) / 100 : 0);
  log(`  ${s.name}: parse floor ${floor.eventsPerSecond} events/s; ${ratio(eventsPerSecond, floor.eventsPerSecond)}× the floor; stages (µs/event) ${JSON.stringify(stages)}`);
  return {
    scenario: s.name,
    description: s.description,
    target: s.target,
    floorGoal: s.floorGoal,
    eventsPerSecond,
    confirmation,
    ceiling,
    floor,
    floorRatio: ratio(eventsPerSecond, floor.eventsPerSecond),
    cpuFloorRatio: cpuFloorRatio(steps, floor),
    ceilingRatio: ratio(eventsPerSecond, ceiling.eventsPerSecond),
    stages,
    overload,
    balancedSteps: steps.filter((x) => x.unaccounted === 0).length,
    steps,
  };
}

function cpuFloorRatio(steps: IngestStep[], floor: ParseFloor): number {
  const best = steps.filter((x) => x.passed).sort((a, b) => b.sustainedEventsPerSecond - a.sustainedEventsPerSecond)[0];
  if (!best || floor.eventsPerCpuSecond <= 0) return 0;
  const busiest = Math.max(best.cpuPerEventUs.main, best.cpuPerEventUs.busiestOther);
  return busiest > 0 ? Math.round((1e6 / floor.eventsPerCpuSecond / busiest) * 100) / 100 : 0;
}

function perEvent(used: CpuUsed, events: number): CpuUsed {
  const us = (seconds: number) => (events > 0 ? Math.round((seconds / events) * 1e7) / 10 : 0);
  return { main: us(used.main), busiestOther: us(used.busiestOther), rest: us(used.rest), machine: us(used.machine) };
}

function describeStep(r: IngestStep): string {
  const c = r.counted;
  return (
    `asked ${r.targetEventsPerSecond} ev/s, sent ${r.sentEvents} (${r.offeredEventsPerSecond} ev/s), merged ${r.merged}, ` +
    `counted ${countedTotal(r)} (handoff ${c.handoffFull}, queue ${c.queueFull}, msg_id gaps ${c.gapLost}, rejected ${c.rejected}), ` +
    `unaccounted ${r.unaccounted}, drain ${r.drainSeconds.toFixed(2)} s, sustained ${r.sustainedEventsPerSecond} ev/s ` +
    `[cores: main ${r.cpu.main}, collector ${r.cpu.busiestOther}, other threads ${r.cpu.rest}; whole machine ${r.cpu.machine} of ${cpus().length}]`
  );
}
