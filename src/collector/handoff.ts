// How a batch of normalised events crosses from the collector thread to the main
// thread. (Which exporter sent an event does not travel: the exporters view is
// per source already, and a socket event names its host in exporterIp, a counters
// event in deviceIp and a listening-ports event in its instance name.)
//
// Measured per event on the fixtures (20-event arrays, this 2-core machine):
//   structured clone of the event objects   ≈ 1.2 µs to serialise, ≈ 2.7 µs to deserialise
//   msgpackr records (per-batch structures) ≈ 1.4 µs to pack,      ≈ 1.2–2.1 µs to unpack
//   this slot codec                         ≈ 0.3 µs to pack,      ≈ 0.3 µs to unpack
// The slot codec wins because the event model is known: numbers go into one
// Float64Array that is transferred (not copied), and strings go into a per-batch
// table, each distinct string once (a batch repeats interface names, process paths,
// container ids and addresses over and over), which postMessage clones cheaply.
// Rare shapes (counters, listening ports, additional fields) travel as objects.
// Socket events are packed straight from the producer's validated record (no event
// objects are built on the collector thread at all); the main thread unpacks them into
// the event model, exactly what normaliseSocketEvent makes of the same record.
import type {
  CollectedEvent, ContainerInfo, CountersEvent, ListeningPortsEvent, ProcessInfo, SideInfo, SocketEvent, SocketEventType, TcpSnapshot,
} from '../model/event.ts';
import { containerOf, timestampOf, type OrientedSocket, type Raw } from './events/normalise.ts';

/** One batch as posted to the main thread; `slots.buffer` is transferred. */
export interface PackedBatch {
  count: number;
  slots: Float64Array;
  strings: string[];
  objects: unknown[];
}

// ---- the layout ----
// Each event starts with its kind. Socket events continue with a presence
// mask, the fixed fields, then the optional ones in mask-bit order; nested objects
// (processes, containers, the TCP block) carry a mask of their own. Strings are
// indexes into `strings`. Counters and listening-ports events are an index into `objects`.

const KIND_FLOW = 0;
const KIND_NETSTAT = 1;
const KIND_OBJECT = 2;

// Socket event presence bits.
const IF_NAME = 1 << 0;
const EVENT_TYPE = 1 << 1;
const LATENCY = 1 << 2;
const RETRANSMITTED = 1 << 3;
const EXPORTER_IP = 1 << 4;
const TID = 1 << 5;
const EXTRA = 1 << 6;
const TCP = 1 << 7;
const LOCAL_PROCESS = 1 << 8;
const LOCAL_PARENT = 1 << 9;
const LOCAL_CONTAINER = 1 << 10;
const REMOTE_PROCESS = 1 << 11;
const REMOTE_PARENT = 1 << 12;
const REMOTE_CONTAINER = 1 << 13;

// Every field of the model must be handled here: a field added to event.ts and not
// to this codec would silently vanish between the threads, so make it a type error.
type Handled<T, K extends keyof T> = Exclude<keyof T, K> extends never ? true : { missing: Exclude<keyof T, K> };
const socketFieldsHandled: Handled<SocketEvent, 'kind' | 'timestamp' | 'ifName' | 'ipVersion' | 'protocol' | 'eventType' | 'client' | 'server' | 'localSide' | 'local' | 'remote' | 'latencyMs' | 'retransmittedPackets' | 'tcp' | 'exporterIp' | 'tid' | 'extra'> = true;
const processFieldsHandled: Handled<ProcessInfo, 'pid' | 'tid' | 'uid' | 'user' | 'gid' | 'group' | 'path' | 'cmdline' | 'vmSizeKb' | 'vmPeakKb'> = true;
const containerFieldsHandled: Handled<ContainerInfo, 'runtime' | 'id' | 'name' | 'pod' | 'namespace'> = true;
const sideFieldsHandled: Handled<SideInfo, 'process' | 'parent' | 'container'> = true;
const tcpFieldsHandled: Handled<TcpSnapshot, 'state' | 'segsIn' | 'segsOut' | 'unackSegments' | 'retransmittedPackets' | 'lostPackets' | 'rttMs' | 'rttVarianceMs' | 'bytesReceived' | 'bytesAcked'> = true;
void [socketFieldsHandled, processFieldsHandled, containerFieldsHandled, sideFieldsHandled, tcpFieldsHandled];


/** Packs events one at a time into the batch being built (collector thread). */
export class BatchPacker {
  #slots = new Float64Array(16 * 1024);
  #n = 0;
  #count = 0;
  #strings: string[] = [];
  #stringIndex = new Map<string, number>();
  #objects: unknown[] = [];

  /** Events in the batch being built. */
  get count(): number {
    return this.#count;
  }

  /** A counters or listening-ports event (rare shapes: they travel as objects). */
  add(event: CountersEvent | ListeningPortsEvent): void {
    this.#room();
    this.#count++;
    this.#slot(KIND_OBJECT);
    this.#slot(this.#objects.push(event) - 1);
  }

  /**
   * Packs a socket record straight from what the producer sent, in the layout
   * add(normaliseSocketEvent(r)) writes, without building the event's objects first: the
   * collector thread's path. `o` is orientSocketRecord(r), `extra` socketExtra(r); the
   * field names read here are those normalise.ts reads (a test holds the two equal).
   */
  addSocketRecord(r: Raw, o: OrientedSocket, extra: Record<string, unknown> | undefined): void {
    this.#room();
    this.#count++;
    this.#slot(o.kind === 'flow' ? KIND_FLOW : KIND_NETSTAT);
    const maskAt = this.#n++;
    let mask = 0;
    this.#slot(timestampOf(r.timestamp));
    this.#slot(o.ipVersion);
    this.#slot(o.protocol);
    this.#string(o.client.ip);
    this.#slot(o.client.port);
    this.#string(o.server.ip);
    this.#slot(o.server.port);
    this.#slot(o.localIsClient ? 0 : 1);
    const ifName = (r.INTERFACE_NAME ?? r.IF_NAME) as string | undefined;
    if (ifName !== undefined) { mask |= IF_NAME; this.#string(ifName); }
    if (o.eventType !== undefined) { mask |= EVENT_TYPE; this.#string(o.eventType); }
    if (r.NW_LATENCY_MS !== undefined) { mask |= LATENCY; this.#slot(r.NW_LATENCY_MS as number); }
    if (r.RETRAN_PKTS !== undefined) { mask |= RETRANSMITTED; this.#slot(r.RETRAN_PKTS as number); }
    if (r.EXPORTER_IPV4_ADDRESS !== undefined) { mask |= EXPORTER_IP; this.#string(r.EXPORTER_IPV4_ADDRESS as string); }
    if (r.TID !== undefined) { mask |= TID; this.#slot(r.TID as number); }
    if (extra !== undefined) { mask |= EXTRA; this.#slot(this.#objects.push(extra) - 1); }
    if (o.tcpBlock !== undefined) { mask |= TCP; this.#tcpRecord(o.tcpBlock); }
    if (r.LOCAL_PROCESS !== undefined) { mask |= LOCAL_PROCESS; this.#processRecord(r.LOCAL_PROCESS as Raw); }
    if (r.LOCAL_FATHER_PROCESS !== undefined) { mask |= LOCAL_PARENT; this.#processRecord(r.LOCAL_FATHER_PROCESS as Raw); }
    if (r.LOCAL_CONTAINER !== undefined) { mask |= LOCAL_CONTAINER; this.#container(containerOf(r.LOCAL_CONTAINER)!); }
    if (r.REMOTE_PROCESS !== undefined) { mask |= REMOTE_PROCESS; this.#processRecord(r.REMOTE_PROCESS as Raw); }
    if (r.REMOTE_FATHER_PROCESS !== undefined) { mask |= REMOTE_PARENT; this.#processRecord(r.REMOTE_FATHER_PROCESS as Raw); }
    if (r.REMOTE_CONTAINER !== undefined) { mask |= REMOTE_CONTAINER; this.#container(containerOf(r.REMOTE_CONTAINER)!); }
    this.#slots[maskAt] = mask;
  }

  /** Hands the batch over and starts an empty one. */
  take(): PackedBatch {
    const batch: PackedBatch = {
      count: this.#count,
      slots: this.#slots.slice(0, this.#n),
      strings: this.#strings,
      objects: this.#objects,
    };
    this.clear();
    return batch;
  }

  /** Forgets the batch being built (its events were dropped and counted elsewhere). */
  clear(): void {
    this.#n = 0;
    this.#count = 0;
    this.#strings = [];
    this.#stringIndex.clear();
    this.#objects = [];
  }

  /** The largest socket event takes about 70 slots: make sure they fit before writing one. */
  #room(): void {
    if (this.#n + 128 <= this.#slots.length) return;
    const bigger = new Float64Array(this.#slots.length * 2);
    bigger.set(this.#slots.subarray(0, this.#n));
    this.#slots = bigger;
  }

  #slot(v: number): void {
    this.#slots[this.#n++] = v;
  }

  #string(s: string): void {
    let i = this.#stringIndex.get(s);
    if (i === undefined) {
      i = this.#strings.push(s) - 1;
      this.#stringIndex.set(s, i);
    }
    this.#slots[this.#n++] = i;
  }

  // The nested writers name each field (no loop over key names: a keyed load with a
  // changing key is megamorphic, and this is the collector thread's hottest path); the
  // bits are the ones unpackBatch reads. A process as normalise.ts's processOf reads it:
  #processRecord(p: Raw): void {
    const maskAt = this.#n++;
    let mask = 0;
    this.#slot(p.PID as number);
    if (p.TID !== undefined) { mask |= 1; this.#slot(p.TID as number); }
    if (p.UID !== undefined) { mask |= 2; this.#slot(p.UID as number); }
    if (p.GID !== undefined) { mask |= 4; this.#slot(p.GID as number); }
    if (p.VM_SIZE !== undefined) { mask |= 8; this.#slot(p.VM_SIZE as number); }
    if (p.VM_PEAK !== undefined) { mask |= 16; this.#slot(p.VM_PEAK as number); }
    if (p.UID_NAME !== undefined) { mask |= 32; this.#string(p.UID_NAME as string); }
    if (p.GID_NAME !== undefined) { mask |= 64; this.#string(p.GID_NAME as string); }
    if (p.PROCESS_PATH !== undefined) { mask |= 128; this.#string(p.PROCESS_PATH as string); }
    if (p.PROCESS_CMDLINE !== undefined) { mask |= 256; this.#string(p.PROCESS_CMDLINE as string); }
    this.#slots[maskAt] = mask;
  }

  /** A TCP block as normaliseSocketEvent reads it. */
  #tcpRecord(t: Raw): void {
    const maskAt = this.#n++;
    let mask = 0;
    if (t.CONN_STATE !== undefined) { mask |= 1; this.#string(t.CONN_STATE as string); }
    if (t.SEGS_IN !== undefined) { mask |= 2; this.#slot(t.SEGS_IN as number); }
    if (t.SEGS_OUT !== undefined) { mask |= 4; this.#slot(t.SEGS_OUT as number); }
    if (t.UNACK_SEGMENTS !== undefined) { mask |= 8; this.#slot(t.UNACK_SEGMENTS as number); }
    if (t.RETRAN_PKTS !== undefined) { mask |= 16; this.#slot(t.RETRAN_PKTS as number); }
    if (t.LOST_PKTS !== undefined) { mask |= 32; this.#slot(t.LOST_PKTS as number); }
    if (t.RTT !== undefined) { mask |= 64; this.#slot(t.RTT as number); }
    if (t.RTT_VARIANCE !== undefined) { mask |= 128; this.#slot(t.RTT_VARIANCE as number); }
    if (t.BYTES_RCVD !== undefined) { mask |= 256; this.#slot(t.BYTES_RCVD as number); }
    if (t.BYTES_ACKED !== undefined) { mask |= 512; this.#slot(t.BYTES_ACKED as number); }
    this.#slots[maskAt] = mask;
  }

  #container(c: ContainerInfo): void {
    const maskAt = this.#n++;
    let mask = 0;
    if (c.runtime !== undefined) { mask |= 1; this.#string(c.runtime); }
    if (c.id !== undefined) { mask |= 2; this.#string(c.id); }
    if (c.name !== undefined) { mask |= 4; this.#string(c.name); }
    if (c.pod !== undefined) { mask |= 8; this.#string(c.pod); }
    if (c.namespace !== undefined) { mask |= 16; this.#string(c.namespace); }
    this.#slots[maskAt] = mask;
  }
}

/** The transfer list for postMessage: the slots move to the main thread without a copy. */
export function transferListOf(batch: PackedBatch): ArrayBuffer[] {
  return [batch.slots.buffer as ArrayBuffer];
}

/** Rebuilds the events of a batch (main thread). */
export function unpackBatch(batch: PackedBatch): CollectedEvent[] {
  const { slots: s, strings, objects } = batch;
  const events = new Array<CollectedEvent>(batch.count);
  let i = 0;
  const num = () => s[i++];
  const str = () => strings[s[i++]];

  // Field by field, in the packer's bit order (see BatchPacker's nested writers).
  const process = (): ProcessInfo => {
    const mask = s[i++];
    const p: ProcessInfo = { pid: s[i++] };
    if (mask & 1) p.tid = num();
    if (mask & 2) p.uid = num();
    if (mask & 4) p.gid = num();
    if (mask & 8) p.vmSizeKb = num();
    if (mask & 16) p.vmPeakKb = num();
    if (mask & 32) p.user = str();
    if (mask & 64) p.group = str();
    if (mask & 128) p.path = str();
    if (mask & 256) p.cmdline = str();
    return p;
  };
  const container = (): ContainerInfo => {
    const mask = s[i++];
    const c: ContainerInfo = {};
    if (mask & 1) c.runtime = str() as ContainerInfo['runtime'];
    if (mask & 2) c.id = str();
    if (mask & 4) c.name = str();
    if (mask & 8) c.pod = str();
    if (mask & 16) c.namespace = str();
    return c;
  };
  const tcp = (): TcpSnapshot => {
    const mask = s[i++];
    const t: TcpSnapshot = {};
    if (mask & 1) t.state = str();
    if (mask & 2) t.segsIn = num();
    if (mask & 4) t.segsOut = num();
    if (mask & 8) t.unackSegments = num();
    if (mask & 16) t.retransmittedPackets = num();
    if (mask & 32) t.lostPackets = num();
    if (mask & 64) t.rttMs = num();
    if (mask & 128) t.rttVarianceMs = num();
    if (mask & 256) t.bytesReceived = num();
    if (mask & 512) t.bytesAcked = num();
    return t;
  };

  for (let e = 0; e < batch.count; e++) {
    const kind = s[i++];
    if (kind === KIND_OBJECT) {
      events[e] = objects[s[i++]] as CollectedEvent;
      continue;
    }
    const mask = s[i++];
    const event: SocketEvent = {
      kind: kind === KIND_FLOW ? 'flow' : 'netstat',
      timestamp: s[i],
      ipVersion: s[i + 1] as 4 | 6,
      protocol: s[i + 2] as 6 | 17,
      client: { ip: strings[s[i + 3]], port: s[i + 4] },
      server: { ip: strings[s[i + 5]], port: s[i + 6] },
      localSide: s[i + 7] === 0 ? 'client' : 'server',
      local: {},
      remote: {},
    };
    i += 8;
    if (mask & IF_NAME) event.ifName = str();
    if (mask & EVENT_TYPE) event.eventType = str() as SocketEventType;
    if (mask & LATENCY) event.latencyMs = num();
    if (mask & RETRANSMITTED) event.retransmittedPackets = num();
    if (mask & EXPORTER_IP) event.exporterIp = str();
    if (mask & TID) event.tid = num();
    if (mask & EXTRA) event.extra = objects[s[i++]] as Record<string, unknown>;
    if (mask & TCP) event.tcp = tcp();
    if (mask & LOCAL_PROCESS) event.local.process = process();
    if (mask & LOCAL_PARENT) event.local.parent = process();
    if (mask & LOCAL_CONTAINER) event.local.container = container();
    if (mask & REMOTE_PROCESS) event.remote.process = process();
    if (mask & REMOTE_PARENT) event.remote.parent = process();
    if (mask & REMOTE_CONTAINER) event.remote.container = container();
    events[e] = event;
  }
  return events;
}
