// The soak's accounting, read from the running collector's API as an operator would
// (GET /api/v1/interfaces, /api/v1/exporters): where every event sent went (merged, or
// counted by reason), whether every malformed message was counted under the reason it
// must get, and whether resident memory keeps growing. Unknown fields are ignored and
// unknown drop reasons are kept by name: the API grows while the soak runs against it.
import type { SoakCollector } from './soak-flowbridge.ts';

type Numbers = Record<string, number>;

/** Cumulative counters of the collector at one moment. */
export interface Snapshot {
  /** ZMQ messages received, by topic. */
  messages: Numbers;
  /** Events accepted, by kind. */
  accepted: Numbers;
  /** Rejections by reason (handoff-full included: events dropped at the hand-off). */
  rejected: Numbers;
  /** Messages missing from the msg_id sequence, by source id (and `total`). */
  lost: Numbers;
  /** Events delivered to the ZMQ interface's own flow table (`home`), and elsewhere by route. */
  delivered: Numbers;
  /** Events the ZMQ interface's dispatch did not deliver, by reason. */
  dispatchDropped: Numbers;
  queueSize: number;
  /** Every other interface's dispatch drops (companion deliveries to lo), by reason. */
  otherDispatchDropped: Numbers;
  capture: { packets: number; bytes: number; kernelDrops: number; errors: Numbers };
  /** Interface states by name. */
  states: Record<string, string>;
  /** Any `restarts` counter the API reports for an interface (supervision), summed. */
  supervisedRestarts: number;
  problems: string[];
}

interface InterfaceJson {
  id: number;
  name: string;
  kind: string;
  status?: { state?: string; restarts?: number } & Record<string, unknown>;
  problems?: string[];
  dispatch?: { delivered?: Numbers; dropped?: Numbers; queueSize?: number };
  collector?: { messages?: Numbers; events?: Numbers; rejected?: Numbers; lostMessages?: number };
  capture?: { packets?: number; bytes?: number; kernelDrops?: number; errors?: Numbers };
  [more: string]: unknown;
}

/** Sums every numeric field named `restarts` anywhere in an interface's view (except the producers'). */
function restartsIn(value: unknown, key = ''): number {
  if (typeof value === 'number') return key === 'restarts' ? value : 0;
  if (typeof value !== 'object' || value === null || key === 'collector') return 0;
  return Object.entries(value).reduce((sum, [k, v]) => sum + restartsIn(v, k), 0);
}

const add = (into: Numbers, from: Numbers | undefined) => {
  for (const [k, v] of Object.entries(from ?? {})) into[k] = (into[k] ?? 0) + (v ?? 0);
};

/** Reads the collector's counters; throws when the API does not answer (counted by the caller). */
export async function readSnapshot(fb: SoakCollector): Promise<Snapshot> {
  const json = async <T>(path: string): Promise<T> => {
    const r = await fb.api(path);
    if (!r.ok) throw new Error(`GET ${path}: ${r.status} ${(await r.text()).slice(0, 200)}`);
    return (await r.json()) as T;
  };
  const { interfaces } = await json<{ interfaces: InterfaceJson[] }>('/api/v1/interfaces');
  const { exporters } = await json<{ exporters: { sourceId: string; lostMessages: number }[] }>('/api/v1/exporters');
  const zmq = interfaces.find((i) => i.kind === 'zmq');
  const packet = interfaces.find((i) => i.kind === 'packet');
  if (!zmq?.collector || !zmq.dispatch) throw new Error('the collector shows no ZMQ interface');
  const lost: Numbers = { total: zmq.collector.lostMessages ?? 0 };
  for (const e of exporters) lost[e.sourceId] = Math.max(lost[e.sourceId] ?? 0, e.lostMessages);
  const otherDispatchDropped: Numbers = {};
  for (const i of interfaces) if (i !== zmq) add(otherDispatchDropped, i.dispatch?.dropped);
  return {
    messages: { ...zmq.collector.messages },
    accepted: { ...zmq.collector.events },
    rejected: { ...zmq.collector.rejected },
    lost,
    delivered: { ...zmq.dispatch.delivered },
    dispatchDropped: { ...zmq.dispatch.dropped },
    queueSize: zmq.dispatch.queueSize ?? 0,
    otherDispatchDropped,
    capture: {
      packets: packet?.capture?.packets ?? 0, bytes: packet?.capture?.bytes ?? 0,
      kernelDrops: packet?.capture?.kernelDrops ?? 0, errors: { ...packet?.capture?.errors },
    },
    states: Object.fromEntries(interfaces.map((i) => [i.name, i.status?.state ?? 'unknown'])),
    supervisedRestarts: interfaces.reduce((sum, i) => sum + restartsIn(i), 0),
    problems: interfaces.flatMap((i) => i.problems ?? []),
  };
}

const minus = (a: Numbers, b: Numbers): Numbers => {
  const out: Numbers = {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const d = (a[k] ?? 0) - (b[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
};
const total = (n: Numbers) => Object.values(n).reduce((a, b) => a + b, 0);

/** Where the good stream's events went, and the malformed messages' reasons, between two snapshots. */
export interface Balance {
  sentEvents: number;
  /** Events the collector accepted (decoded, valid). */
  receivedEvents: number;
  /** Events merged into the ZMQ interface's flow table. */
  merged: number;
  /** Events not merged and counted, by reason: hand-off, dispatch drops, msg_id gaps (as events). */
  dropped: Numbers;
  /** Events still queued for the flow table. */
  queued: number;
  /** Sent, neither merged, queued nor counted: must be 0 once the collector is quiet (mid-run: in flight). */
  unaccounted: number;
  malformed: {
    /** Sent, by the reason each must be counted under (schema: events). */
    expected: Numbers;
    /** Counted by the collector, by reason (handoff-full excepted). */
    counted: Numbers;
    /** Messages of the malformed source lost on the way (msg_id gaps): they cannot be counted by reason. */
    gapLost: number;
    /** Reasons whose count differs from what was sent. */
    mismatched: string[];
  };
}

export function balance(before: Snapshot, after: Snapshot, o: { sentEvents: number; eventsPerMessage: number; goodSource: number; expectedMalformed: Numbers; malformedSource: number }): Balance {
  const rejected = minus(after.rejected, before.rejected);
  const lost = minus(after.lost, before.lost);
  const dispatchDropped = minus(after.dispatchDropped, before.dispatchDropped);
  const mergeErrors = dispatchDropped['merge-error'] ?? 0;
  const delivered = (after.delivered.home ?? 0) - (before.delivered.home ?? 0);
  const queued = after.queueSize;
  const dropped: Numbers = {};
  if (rejected['handoff-full']) dropped['handoff-full'] = rejected['handoff-full'];
  for (const [reason, n] of Object.entries(dispatchDropped)) dropped[reason] = n;
  const gapEvents = (lost[String(o.goodSource)] ?? 0) * o.eventsPerMessage;
  if (gapEvents) dropped['msg_id-gap'] = gapEvents;
  const counted: Numbers = { ...rejected };
  delete counted['handoff-full'];
  const mismatched = [...new Set([...Object.keys(counted), ...Object.keys(o.expectedMalformed)])]
    .filter((r) => (counted[r] ?? 0) !== (o.expectedMalformed[r] ?? 0)).sort();
  // Merged: delivered home, less the queue's growth (not merged yet) and what the table refused.
  const merged = delivered - (after.queueSize - before.queueSize) - mergeErrors;
  return {
    sentEvents: o.sentEvents,
    receivedEvents: total(minus(after.accepted, before.accepted)),
    merged,
    dropped,
    queued,
    unaccounted: o.sentEvents - merged - queued - total(dropped),
    malformed: { expected: { ...o.expectedMalformed }, counted, gapLost: lost[String(o.malformedSource)] ?? 0, mismatched },
  };
}

export interface MemorySample {
  /** Seconds into the soak. */
  t: number;
  /** The collector's own resident memory. */
  collectorBytes: number;
  /** Its children's (capture processes), summed. */
  childrenBytes: number;
  totalBytes: number;
}

/** The collector's main-thread live heap right after a full garbage collection (soak-heap-probe.ts). */
export interface LiveHeapSample {
  t: number;
  bytes: number;
}

export interface MemoryTrend {
  firstHalfMaxBytes: number;
  lastQuarterMaxBytes: number;
  lastQuarterMinBytes: number;
  /** lastQuarterMax may be at most firstHalfMax × ratio + margin. */
  limitBytes: number;
  /** The live heap after full collections: the last quarter's lowest may be at most the first half's highest + margin. */
  liveHeap: { firstHalfMaxBytes: number; lastQuarterMinBytes: number; limitBytes: number };
  /** Least-squares slope of total RSS over the second half, MiB per minute (information). */
  secondHalfSlopeMiBPerMinute: number;
  growing: boolean;
}

const MIB = 1024 * 1024;
/**
 * The rules. Resident memory: the last quarter's peak stays within the first half's peak
 * × 1.2 + 32 MiB (GC's sawtooth, bounded tables filling, V8 growing its heap). The live
 * heap after a full collection: the last quarter's lowest stays within the first half's
 * highest + 16 MiB. A steady climb of resident memory is not a rule of its own: in the
 * first minutes V8 grows its heap steadily whether anything leaks or not (a full
 * collection may not have run yet), and only the live heap tells the two apart.
 */
export const MEMORY_RATIO = 1.2;
export const MEMORY_MARGIN_BYTES = 32 * MIB;
export const LIVE_HEAP_MARGIN_BYTES = 16 * MIB;

const halves = <T extends { t: number }>(xs: T[]) => {
  const end = xs.at(-1)?.t ?? 0;
  return { firstHalf: xs.filter((s) => s.t <= end / 2), secondHalf: xs.filter((s) => s.t > end / 2), lastQuarter: xs.filter((s) => s.t >= (end * 3) / 4) };
};

export function memoryTrend(samples: MemorySample[], liveHeap: LiveHeapSample[]): MemoryTrend {
  const { firstHalf, secondHalf, lastQuarter } = halves(samples);
  const max = (xs: MemorySample[]) => Math.max(0, ...xs.map((s) => s.totalBytes));
  const firstHalfMaxBytes = max(firstHalf);
  const lastQuarterMaxBytes = max(lastQuarter);
  const lastQuarterMinBytes = Math.min(...lastQuarter.map((s) => s.totalBytes));
  const limitBytes = Math.round(firstHalfMaxBytes * MEMORY_RATIO + MEMORY_MARGIN_BYTES);
  const heap = halves(liveHeap);
  const heapFirstHalfMax = Math.max(0, ...heap.firstHalf.map((s) => s.bytes));
  const heapLastQuarterMin = Math.min(...heap.lastQuarter.map((s) => s.bytes));
  const heapLimit = heapFirstHalfMax + LIVE_HEAP_MARGIN_BYTES;
  return {
    firstHalfMaxBytes,
    lastQuarterMaxBytes,
    lastQuarterMinBytes,
    limitBytes,
    liveHeap: { firstHalfMaxBytes: heapFirstHalfMax, lastQuarterMinBytes: heapLastQuarterMin, limitBytes: heapLimit },
    secondHalfSlopeMiBPerMinute: Math.round(slope(secondHalf.map((s) => [s.t / 60, s.totalBytes / MIB])) * 100) / 100,
    growing: firstHalf.length === 0 || lastQuarter.length === 0 || lastQuarterMaxBytes > limitBytes ||
      heap.firstHalf.length === 0 || heap.lastQuarter.length === 0 || heapLastQuarterMin > heapLimit,
  };
}

function slope(points: [number, number][]): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  const sxy = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  return sxx === 0 ? 0 : sxy / sxx;
}

export const difference = minus;
