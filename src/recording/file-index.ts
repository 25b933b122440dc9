// The index of one recorded pcap file, built while the file is written (or rebuilt
// from the file after a crash) and saved beside it when it closes, in two parts:
//
// `<file>.idx` (JSON, small: read whole by every extraction) — the file's time range and
// its blocks. The file is cut into blocks of BLOCK_BYTES at record boundaries; each block
// has its offset, the time range of its packets and their count, so a time window maps to
// byte ranges, never to whole files:
//   { "version": 2, "dlt": 1, "snaplen": 65535, "firstMs": …, "lastMs": …, "packets": n,
//     "fileBytes": n, "blockBytes": 262144, "flows": n,
//     "blocks": [[offset, firstMs, lastMs, packets], …], "unkeyed": [block, …] }
// `unkeyed` lists blocks holding packets without a flow key (not IP, or a capture batch
// that was full): an extraction by flow reads those too, so nothing is missed.
//
// `<file>.flows` (binary, little-endian: looked up, never parsed whole) — per flow (the
// flows API's direction-free key) its first and last packet times, packets, bytes, and
// the offset of every one of its records, so one flow is read record by record:
//   header   "FBFL", version u32 (1), slots u32 (a power of two), flows u32
//   slots    slots × { hash u32 (FNV-1a of the key; 0 = empty), entry offset u32 }
//   entries  { key length u16, key (ASCII), firstMs f64, lastMs f64, packets u32,
//              bytes f64, offsets u32, offsets × u32 (record offsets in the pcap) }
// Times are epoch milliseconds with fractions; exact nanosecond times stay in the pcap
// records and decide at read time. Files are at most 4 GiB (u32 offsets).
import { closeSync, openSync, readFileSync, readSync, renameSync, rmSync, writeFileSync } from 'node:fs';

export const BLOCK_BYTES = 256 * 1024;
export const INDEX_VERSION = 2;
const FLOWS_MAGIC = 0x4c464246; // "FBFL" read little-endian
const FLOWS_VERSION = 1;
const FLOWS_HEADER = 16;
const SLOT_BYTES = 8;

export interface IndexedFlow {
  key: string;
  firstMs: number;
  lastMs: number;
  packets: number;
  bytes: number;
  /** Offsets of the flow's records (record header) in the pcap file, ascending. */
  offsets: number[];
}

/** The `.idx` part: what every extraction reads. */
export interface FileIndexData {
  version: number;
  dlt: number;
  snaplen: number;
  firstMs: number;
  lastMs: number;
  packets: number;
  fileBytes: number;
  blockBytes: number;
  /** Flows in the `.flows` part. */
  flows: number;
  /** [offset, firstMs, lastMs, packets] per block. */
  blocks: [number, number, number, number][];
  unkeyed: number[];
}

/** Where the flows part of an index is. */
export const flowsPathOf = (indexPath: string) => indexPath.replace(/\.idx$/, '.flows');

/** The flow key and packet-batch slot source the index reads keys from. */
export interface SlotKeys {
  readonly generation: number;
  keyOf(slot: number): string;
}

/** FNV-1a over the key's characters (keys are ASCII); never 0, which marks an empty slot. */
export function keyHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0 || 1;
}

/** Builds the index of a file as its records are appended. */
export class FileIndexBuilder {
  readonly #dlt: number;
  readonly #snaplen: number;
  readonly #flows = new Map<string, IndexedFlow>();
  readonly #blocks: [number, number, number, number][] = [];
  readonly #unkeyed: number[] = [];
  // Slot → flow of the current packet-batch generation: one Map lookup per flow per batch, not per packet.
  #slotFlows: (IndexedFlow | undefined)[] = [];
  #generation = -1;
  #packets = 0;
  #firstMs = Infinity;
  #lastMs = -Infinity;
  #fileBytes = 0;

  constructor(dlt: number, snaplen: number) {
    this.#dlt = dlt;
    this.#snaplen = snaplen;
  }

  /** Packets added so far. */
  get packets(): number {
    return this.#packets;
  }

  /**
   * Adds the record at file offset `offset` (`recordBytes` long, header included),
   * captured at `tsMs`, of the flow in `slot` of `keys` (-1: no flow key).
   */
  add(offset: number, recordBytes: number, tsMs: number, wireLength: number, slot: number, keys: SlotKeys): void {
    const blockNo = Math.floor(offset / BLOCK_BYTES);
    // Blocks start at the first record that begins in them.
    while (this.#blocks.length <= blockNo) this.#blocks.push([offset, tsMs, tsMs, 0]);
    const block = this.#blocks[blockNo];
    if (tsMs < block[1]) block[1] = tsMs;
    if (tsMs > block[2]) block[2] = tsMs;
    block[3]++;
    this.#packets++;
    if (tsMs < this.#firstMs) this.#firstMs = tsMs;
    if (tsMs > this.#lastMs) this.#lastMs = tsMs;
    this.#fileBytes = offset + recordBytes;

    if (slot < 0) {
      if (this.#unkeyed[this.#unkeyed.length - 1] !== blockNo) this.#unkeyed.push(blockNo);
      return;
    }
    if (keys.generation !== this.#generation) {
      this.#generation = keys.generation;
      this.#slotFlows = [];
    }
    let flow = this.#slotFlows[slot];
    if (flow === undefined) {
      const key = keys.keyOf(slot);
      flow = this.#flows.get(key);
      if (flow === undefined) {
        flow = { key, firstMs: tsMs, lastMs: tsMs, packets: 0, bytes: 0, offsets: [] };
        this.#flows.set(key, flow);
      }
      this.#slotFlows[slot] = flow;
    }
    flow.packets++;
    flow.bytes += wireLength;
    if (tsMs < flow.firstMs) flow.firstMs = tsMs;
    if (tsMs > flow.lastMs) flow.lastMs = tsMs;
    flow.offsets.push(offset);
  }

  /** The `.idx` part. */
  data(): FileIndexData {
    const empty = this.#packets === 0;
    return {
      version: INDEX_VERSION,
      dlt: this.#dlt,
      snaplen: this.#snaplen,
      firstMs: empty ? 0 : this.#firstMs,
      lastMs: empty ? 0 : this.#lastMs,
      packets: this.#packets,
      fileBytes: this.#fileBytes,
      blockBytes: BLOCK_BYTES,
      flows: this.#flows.size,
      blocks: this.#blocks,
      unkeyed: this.#unkeyed,
    };
  }

  /** The `.flows` part. */
  flowTable(): Buffer {
    return encodeFlows([...this.#flows.values()]);
  }

  /**
   * Saves both parts beside `pcapPath` (temporary names, then renamed: the flows part
   * first, so an `.idx` always has its flows). Returns the `.idx` data.
   */
  save(pcapPath: string): FileIndexData {
    const data = this.data();
    const parts: [string, string | Buffer][] = [[`${pcapPath}.flows`, this.flowTable()], [`${pcapPath}.idx`, JSON.stringify(data)]];
    for (const [path, content] of parts) {
      const tmp = `${path}.part`;
      try {
        writeFileSync(tmp, content);
        renameSync(tmp, path);
      } catch (err) {
        rmSync(tmp, { force: true });
        throw err;
      }
    }
    return data;
  }
}

function encodeFlows(flows: IndexedFlow[]): Buffer {
  let slots = 16;
  while (slots < flows.length * 2) slots *= 2;
  let size = FLOWS_HEADER + slots * SLOT_BYTES;
  for (const f of flows) size += 2 + f.key.length + 8 + 8 + 4 + 8 + 4 + 4 * f.offsets.length;
  const b = Buffer.alloc(size);
  b.writeUInt32LE(FLOWS_MAGIC, 0);
  b.writeUInt32LE(FLOWS_VERSION, 4);
  b.writeUInt32LE(slots, 8);
  b.writeUInt32LE(flows.length, 12);
  let at = FLOWS_HEADER + slots * SLOT_BYTES;
  for (const f of flows) {
    let slot = keyHash(f.key) & (slots - 1);
    while (b.readUInt32LE(FLOWS_HEADER + slot * SLOT_BYTES) !== 0) slot = (slot + 1) & (slots - 1);
    b.writeUInt32LE(keyHash(f.key), FLOWS_HEADER + slot * SLOT_BYTES);
    b.writeUInt32LE(at, FLOWS_HEADER + slot * SLOT_BYTES + 4);
    b.writeUInt16LE(f.key.length, at);
    b.write(f.key, at + 2, 'latin1');
    at += 2 + f.key.length;
    b.writeDoubleLE(f.firstMs, at);
    b.writeDoubleLE(f.lastMs, at + 8);
    b.writeUInt32LE(f.packets, at + 16);
    b.writeDoubleLE(f.bytes, at + 20);
    b.writeUInt32LE(f.offsets.length, at + 28);
    at += 32;
    for (const o of f.offsets) {
      b.writeUInt32LE(o, at);
      at += 4;
    }
  }
  return b;
}

/** Reads a saved `.idx`; undefined when it is missing, unreadable, of another version, or without its flows part. */
export function readFileIndex(path: string): FileIndexData | undefined {
  try {
    const data = JSON.parse(readFileSync(path, 'utf8')) as FileIndexData;
    if (data.version !== INDEX_VERSION || !Array.isArray(data.blocks)) return undefined;
    const head = Buffer.alloc(FLOWS_HEADER);
    const fd = openSync(flowsPathOf(path), 'r');
    try {
      if (readSync(fd, head, 0, FLOWS_HEADER, 0) < FLOWS_HEADER || head.readUInt32LE(0) !== FLOWS_MAGIC || head.readUInt32LE(12) !== data.flows) return undefined;
    } finally {
      closeSync(fd);
    }
    return data;
  } catch {
    return undefined;
  }
}

function entryAt(fd: number, at: number, withOffsets: boolean): IndexedFlow {
  let b = Buffer.alloc(4096);
  let got = readSync(fd, b, 0, b.length, at);
  const need = (n: number) => {
    if (n <= got) return;
    const bigger = Buffer.alloc(n);
    got = readSync(fd, bigger, 0, n, at);
    if (got < n) throw new Error('flows part cut short');
    b = bigger;
  };
  need(2);
  const keyLength = b.readUInt16LE(0);
  need(2 + keyLength + 32);
  const key = b.toString('latin1', 2, 2 + keyLength);
  const o = 2 + keyLength;
  const count = b.readUInt32LE(o + 28);
  const flow: IndexedFlow = { key, firstMs: b.readDoubleLE(o), lastMs: b.readDoubleLE(o + 8), packets: b.readUInt32LE(o + 16), bytes: b.readDoubleLE(o + 20), offsets: [] };
  if (withOffsets) {
    need(o + 32 + 4 * count);
    const offsets = new Array<number>(count);
    for (let i = 0; i < count; i++) offsets[i] = b.readUInt32LE(o + 32 + 4 * i);
    flow.offsets = offsets;
  }
  return flow;
}

/** The flows of `keys` in a file's flows part, found through its hash table (a few small reads each). */
export function lookupFlows(indexPath: string, keys: ReadonlySet<string>): IndexedFlow[] {
  const fd = openSync(flowsPathOf(indexPath), 'r');
  try {
    const head = Buffer.alloc(FLOWS_HEADER);
    readSync(fd, head, 0, FLOWS_HEADER, 0);
    const slots = head.readUInt32LE(8);
    const slot = Buffer.alloc(SLOT_BYTES);
    const found: IndexedFlow[] = [];
    for (const key of keys) {
      const hash = keyHash(key);
      for (let s = hash & (slots - 1); ; s = (s + 1) & (slots - 1)) {
        readSync(fd, slot, 0, SLOT_BYTES, FLOWS_HEADER + s * SLOT_BYTES);
        const h = slot.readUInt32LE(0);
        if (h === 0) break;
        if (h !== hash) continue;
        const flow = entryAt(fd, slot.readUInt32LE(4), true);
        if (flow.key === key) {
          found.push(flow);
          break;
        }
      }
    }
    return found;
  } finally {
    closeSync(fd);
  }
}

/** Every flow of a file's flows part (for tools and tests; extraction looks flows up instead). */
export function readFileFlows(indexPath: string): IndexedFlow[] {
  const b = readFileSync(flowsPathOf(indexPath));
  const slots = b.readUInt32LE(8);
  const flows: IndexedFlow[] = [];
  for (let at = FLOWS_HEADER + slots * SLOT_BYTES; at < b.length;) {
    const keyLength = b.readUInt16LE(at);
    const o = at + 2 + keyLength;
    const count = b.readUInt32LE(o + 28);
    const offsets = new Array<number>(count);
    for (let i = 0; i < count; i++) offsets[i] = b.readUInt32LE(o + 32 + 4 * i);
    flows.push({ key: b.toString('latin1', at + 2, o), firstMs: b.readDoubleLE(o), lastMs: b.readDoubleLE(o + 8), packets: b.readUInt32LE(o + 16), bytes: b.readDoubleLE(o + 20), offsets });
    at = o + 32 + 4 * count;
  }
  return flows;
}
