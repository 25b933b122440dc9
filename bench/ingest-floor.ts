// The ingest bench's yardsticks on the very payloads the load generator sends
// (loadgen --dump): the parse floor, a single-thread loop that only decodes UTF-8 and
// JSON.parses each message (no JavaScript collector that reads JSON can go faster on
// one thread), and the CPU time per event of each stage of the pipeline, in this process.
// On the native scanner's path (the library built) the collector thread's stages run
// record by record, each timed as what it adds to the run that stops before it:
//   decode     the scanner's pass and the scratch records it fills (native/json-scan.c)
//   validate   the schema's fast check (generated from schemas/)
//   normalise  orientation (the rest of a record is read as it is packed)
//   hand-off   packing a batch, the structured clone postMessage does, unpacking
// On the JSON.parse path each runs alone on the output of the one before (decode: UTF-8
// and JSON.parse; validate: field ids and the schema). The main thread's:
//   dispatch   routing to the interfaces' queues (reference/dispatch.md)
//   merge      FlowTable.applyEvent into the ZMQ interface's flow table
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchPacker, transferListOf, unpackBatch } from '../src/collector/handoff.ts';
import { Ingest } from '../src/collector/ingest.ts';
import { FieldIds } from '../src/collector/events/field-ids.ts';
import { normaliseSocketEvent, orientSocketRecord, SOCKET_KEYS, socketExtra, type Raw } from '../src/collector/events/normalise.ts';
import { ScannedRecords } from '../src/collector/events/scanned-records.ts';
import { compileValidators } from '../src/collector/events/validate.ts';
import { parseHeader, type ZmqHeader } from '../src/collector/wire/header.ts';
import { decodePayload, MAX_PAYLOAD_BYTES } from '../src/collector/wire/payload.ts';
import socketSchema from '../schemas/socket-event.schema.json' with { type: 'json' };
import { CompanionSettings } from '../src/dispatch/companions.ts';
import { Dispatcher } from '../src/dispatch/dispatcher.ts';
import { SettingsStore } from '../src/dispatch/settings-store.ts';
import { InterfaceRegistry } from '../src/interfaces/registry.ts';
import { ZmqInterface } from '../src/interfaces/zmq-interface.ts';
import type { CollectedEvent, SocketEvent } from '../src/model/event.ts';
import { flowFixtures } from './fixtures.ts';

/** Distinct flows the generator cycles through (as loadgen.ts asks of it). */
const FLOWS = 20_000;
/** Each measurement runs at least this long; the floor is the best of several slices. */
const SLICE_MS = 250;
const FLOOR_SLICES = 4;

/** The generator's message pool: the payloads, in the order it sends them. */
export function loadgenPayloads(loadgen: string, batch: number): Buffer[] {
  const out = execFileSync(loadgen, ['--dump', '--batch', String(batch), '--flows', String(FLOWS), ...flowFixtures()], { maxBuffer: 1 << 30 });
  const payloads: Buffer[] = [];
  for (let at = 0; at < out.length; ) {
    const n = out.readUInt32LE(at);
    payloads.push(out.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return payloads;
}

/** Header frames as the generator writes them (v0: 40 bytes, size field unused here; v3: 36). */
export function headerFrame(version: 0 | 3, msgId = 1): Buffer {
  const h = Buffer.alloc(version === 0 ? 40 : 36);
  h.write('flow', 0, 'latin1');
  if (version === 3) {
    h[16] = 4;
    h.writeUInt32BE(msgId, 28);
    h.writeUInt32LE(1, 32);
  }
  return h;
}

/** Calls `pass` (one pass over the input, `events` events) until SLICE_MS of wall time has gone; events per second. */
function rate(pass: () => void, events: number, ms = SLICE_MS): number {
  pass(); // warm
  let done = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    pass();
    done += events;
    t = performance.now();
  }
  return done / ((t - t0) / 1000);
}

/** CPU time per event, µs, of `pass` over `events` events (this thread's CPU: the main thread does nothing else meanwhile). */
function cpuPerEvent(pass: () => void, events: number, ms = SLICE_MS): number {
  pass();
  let done = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    pass();
    done += events;
  }
  const c = process.cpuUsage(c0);
  return Math.round(((c.user + c.system) / done) * 1000) / 1000;
}

export interface ParseFloor {
  /** Events per second of wall time: the best of a few slices (what the pipeline's figure is compared with). */
  eventsPerSecond: number;
  /** Events per CPU second of the loop: the floor on an idle core. */
  eventsPerCpuSecond: number;
}

/** The parse floor: UTF-8 decode + JSON.parse over the payloads, one thread; the best of a few slices. */
export function parseFloor(payloads: Buffer[], batch: number): ParseFloor {
  const events = payloads.length * batch;
  let sink = 0;
  const pass = () => {
    for (const p of payloads) {
      const v = JSON.parse(p.toString('utf8')) as unknown;
      if (v !== null) sink++;
    }
  };
  let best = 0;
  for (let i = 0; i < FLOOR_SLICES; i++) best = Math.max(best, rate(pass, events));
  const cpuUs = cpuPerEvent(pass, events);
  if (sink < 0) throw new Error('unreachable');
  return { eventsPerSecond: Math.round(best), eventsPerCpuSecond: Math.round(1e6 / cpuUs) };
}

/** Two floors of one scenario (measured before and after its search): the higher of each figure. */
export function bestFloor(a: ParseFloor, b: ParseFloor): ParseFloor {
  return { eventsPerSecond: Math.max(a.eventsPerSecond, b.eventsPerSecond), eventsPerCpuSecond: Math.max(a.eventsPerCpuSecond, b.eventsPerCpuSecond) };
}

export interface StageCosts {
  /** CPU µs per event of each stage, run alone. */
  decode: number;
  validate: number;
  /** Orientation and additional fields (the rest of a record is read as it is packed). */
  normalise: number;
  /** Packing straight from the records, the postMessage copy, unpacking. */
  handoff: number;
  dispatch: number;
  merge: number;
  /** The whole collector thread as it runs (Ingest.message: decode + validate + normalise + packing), for comparison with the sum. */
  collectorThread: number;
  /** How payloads were decoded: flowbridge's native scanner, or JSON.parse where the library is not built. */
  path: 'native scanner' | 'JSON.parse';
}

/** Each stage alone over the payloads: the lower of two rounds (the first also warms the code up). */
export function stageCosts(payloads: Buffer[], batch: number, version: 0 | 3): StageCosts {
  const a = stageCostsOnce(payloads, batch, version);
  const b = stageCostsOnce(payloads, batch, version);
  return Object.fromEntries(Object.entries(a).map(([k, v]) => [k, typeof v === 'number' ? Math.min(v, b[k as keyof StageCosts] as number) : v])) as unknown as StageCosts;
}

function stageCostsOnce(payloads: Buffer[], batch: number, version: 0 | 3): StageCosts {
  const header = headerFrame(version);
  const events = payloads.length * batch;
  const parsedHeader = parseHeader(header);
  if ('error' in parsedHeader) throw new Error(parsedHeader.detail);
  const scanned = scannedRecords();

  const decodeAll = () => payloads.map((p) => decodePayload(parsedHeader, p)).flatMap((r) => ('error' in r ? [] : r));
  const records = decodeAll();
  if (records.length !== events) throw new Error(`decoded ${records.length} of ${events} events`);
  const normalised: SocketEvent[] = records.map((r) => normaliseSocketEvent(r));
  const BATCH = 512;
  const packer = new BatchPacker();
  /** What postMessage does with a batch (the slots move, the rest is cloned), and the main thread's unpacking. */
  const handOver = () => {
    const packed = packer.take();
    unpackBatch(structuredClone(packed, { transfer: transferListOf(packed) }));
  };
  const { collector, path } = scanned === undefined ? jsonParseStages(payloads, parsedHeader, records, events, packer, handOver) : scannedStages(scanned, payloads, events, packer, handOver);
  const batches: CollectedEvent[][] = [];
  for (let i = 0; i < normalised.length; i += BATCH) batches.push(normalised.slice(i, i + BATCH));
  // dispatch() merges at once a turn's worth of events or past half the queue's bound: both are
  // set past the pass (withHomeDispatcher), and merge is timed apart by flush().
  const { dispatch, merge } = withHomeDispatcher(2 * events + BATCH, (dispatcher, zmq) => {
    let dispatchCpu = 0;
    let mergeCpu = 0;
    let passes = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < SLICE_MS || passes < 2) {
      const c0 = process.cpuUsage();
      for (const b of batches) dispatcher.dispatch(zmq, b);
      const c1 = process.cpuUsage();
      dispatcher.flush();
      const c2 = process.cpuUsage();
      if (passes > 0) {
        dispatchCpu += c1.user + c1.system - c0.user - c0.system;
        mergeCpu += c2.user + c2.system - c1.user - c1.system;
      }
      passes++;
    }
    const per = (us: number) => Math.round((us / ((passes - 1) * events)) * 100) / 100;
    return { dispatch: per(dispatchCpu), merge: per(mergeCpu) };
  });

  const ingest = new Ingest(0);
  const sink = new BatchPacker();
  const collectorThread = cpuPerEvent(() => {
    for (const p of payloads) {
      ingest.message([header, p], 'tcp://127.0.0.1:17000c', '127.0.0.1', sink, 0);
      if (sink.count >= BATCH) sink.take();
    }
  }, events);
  return { ...collector, dispatch, merge, collectorThread, path };
}

/** The scanner's path as Ingest opens it, and the same without the schema check; undefined without the native library. */
function scannedRecords(): { withCheck: ScannedRecords; unchecked: ScannedRecords } | undefined {
  const check = compileValidators()['socket-event'].fastOwningEveryName;
  const withCheck = ScannedRecords.open(socketSchema, check, SOCKET_KEYS, MAX_PAYLOAD_BYTES);
  const unchecked = ScannedRecords.open(socketSchema, ALWAYS, SOCKET_KEYS, MAX_PAYLOAD_BYTES);
  return typeof withCheck === 'string' || typeof unchecked === 'string' ? undefined : { withCheck, unchecked };
}

type CollectorStages = Pick<StageCosts, 'decode' | 'validate' | 'normalise' | 'handoff'>;
const ALWAYS = () => true;

/**
 * The collector thread's stages on the native scanner's path: decode is the scanner's
 * pass and the scratch records it fills; the later stages run alone over copies of those
 * records (one shape, as the scratch records are), each on the output of the one before.
 */
function scannedStages(scanned: { withCheck: ScannedRecords; unchecked: ScannedRecords }, payloads: Buffer[], events: number, packer: BatchPacker, handOver: () => void) {
  const decode = cpuPerEvent(() => {
    for (const p of payloads) if (scanned.unchecked.records(p, ALWAYS) !== undefined) throw new Error('a payload left the scanner\'s path');
  }, events);
  const records: Raw[] = [];
  for (const p of payloads) scanned.withCheck.records(p, (r) => records.push(structuredClone(r)) > 0);
  if (records.length !== events) throw new Error(`scanned ${records.length} of ${events} events`);
  const check = compileValidators()['socket-event'].fastOwningEveryName!;
  const validate = cpuPerEvent(() => {
    for (const r of records) if (!check(r)) throw new Error('a fixture failed its schema');
  }, events);
  const normalise = cpuPerEvent(() => {
    for (const r of records) orientSocketRecord(r);
  }, events);
  const oriented = records.map((r) => ({ r, o: orientSocketRecord(r) }));
  const handoff = cpuPerEvent(() => {
    for (const { r, o } of oriented) {
      packer.addSocketRecord(r, o, undefined);
      if (packer.count >= 512) handOver();
    }
  }, events);
  const collector: CollectorStages = { decode, validate, normalise, handoff };
  return { collector, path: 'native scanner' as const };
}

/** The collector thread's stages on the JSON.parse path (no native library): each stage alone on the output of the one before. */
function jsonParseStages(payloads: Buffer[], parsedHeader: ZmqHeader, records: Raw[], events: number, packer: BatchPacker, handOver: () => void) {
  const decode = cpuPerEvent(() => {
    for (const p of payloads) decodePayload(parsedHeader, p);
  }, events);
  const fieldIds = new FieldIds();
  const validators = compileValidators();
  const validate = cpuPerEvent(() => {
    for (const r of records) if (!validators['socket-event'](fieldIds.resolve(r))) throw new Error('a fixture failed its schema');
  }, events);
  // Normalise as the collector thread does it: orientation and the additional fields; the
  // rest of the record is read when it is packed (BatchPacker.addSocketRecord).
  const normalise = cpuPerEvent(() => {
    for (const r of records) {
      orientSocketRecord(r);
      socketExtra(r);
    }
  }, events);
  const oriented = records.map((r) => ({ r, o: orientSocketRecord(r), extra: socketExtra(r) }));
  const handoff = cpuPerEvent(() => {
    for (const { r, o, extra } of oriented) {
      packer.addSocketRecord(r, o, extra);
      if (packer.count >= 512) handOver();
    }
  }, events);
  const collector: CollectorStages = { decode, validate, normalise, handoff };
  return { collector, path: 'JSON.parse' as const };
}

/**
 * Dispatch and merge without sockets: a real (unstarted) ZMQ interface in a real registry,
 * and the dispatcher that routes to it; the settings directory is removed after `use`.
 */
export function withHomeDispatcher<T>(queueBound: number, use: (dispatcher: Dispatcher, zmq: ZmqInterface) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'fbstages-'));
  try {
    const registry = new InterfaceRegistry();
    const companions = new CompanionSettings(registry, new SettingsStore(dir));
    const zmq = new ZmqInterface({ id: 0, name: 'tcp://127.0.0.1:17000c', endpoints: 'tcp://127.0.0.1:17000c' }, () => {});
    registry.add(zmq);
    return use(new Dispatcher(registry, companions, { queueBound, drainBatch: queueBound }), zmq);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
