// The index of one recorded pcap file, built while the file is written (or rebuilt
// from the file after a crash) and saved beside it as `<file>.idx` when it closes.
//
// The file is cut into blocks of BLOCK_BYTES. The index keeps, per block, where it
// starts and the time range of its packets; per flow (the flows API's direction-free
// key), its first and last packet times, packets, bytes and the blocks holding its
// packets. A time window maps to byte ranges, a flow to the few blocks it is in:
// extraction never scans a file it does not need, nor parts of it.
//
// Format (JSON, one object; times are epoch milliseconds with fractions; exact
// nanosecond times stay in the pcap records and decide at read time):
//   { "version": 1, "dlt": 1, "snaplen": 65535, "firstMs": …, "lastMs": …, "packets": n,
//     "fileBytes": n, "blockBytes": 262144,
//     "blocks": [[offset, firstMs, lastMs, packets], …],
//     "flows": [[key, firstMs, lastMs, packets, bytes, [firstBlock, lastBlock, …]], …],
//     "unkeyed": [block, …] }
// `flows[i][5]` lists runs of consecutive blocks as pairs; `unkeyed` lists blocks
// holding packets that have no flow key (not IP, or a capture batch that was full):
// extraction by flow reads those too, so nothing is missed.
import { readFileSync } from 'node:fs';

export const BLOCK_BYTES = 256 * 1024;
export const INDEX_VERSION = 1;

export interface IndexedFlow {
  key: string;
  firstMs: number;
  lastMs: number;
  packets: number;
  bytes: number;
  /** Runs of blocks as [first, last] pairs, flattened. */
  blockRuns: number[];
}

export interface FileIndexData {
  version: number;
  dlt: number;
  snaplen: number;
  firstMs: number;
  lastMs: number;
  packets: number;
  fileBytes: number;
  blockBytes: number;
  /** [offset, firstMs, lastMs, packets] per block. */
  blocks: [number, number, number, number][];
  flows: [string, number, number, number, number, number[]][];
  unkeyed: number[];
}

/** The flow key and packet-batch slot source the index reads keys from. */
export interface SlotKeys {
  readonly generation: number;
  keyOf(slot: number): string;
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

  get flowCount(): number {
    return this.#flows.size;
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
    let block = this.#blocks[this.#blocks.length - 1];
    if (this.#blocks.length <= blockNo) {
      // Blocks start at the first record that begins in them.
      while (this.#blocks.length <= blockNo) this.#blocks.push([offset, tsMs, tsMs, 0]);
      block = this.#blocks[blockNo];
    }
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
        flow = { key, firstMs: tsMs, lastMs: tsMs, packets: 0, bytes: 0, blockRuns: [blockNo, blockNo] };
        this.#flows.set(key, flow);
      }
      this.#slotFlows[slot] = flow;
    }
    flow.packets++;
    flow.bytes += wireLength;
    if (tsMs < flow.firstMs) flow.firstMs = tsMs;
    if (tsMs > flow.lastMs) flow.lastMs = tsMs;
    const runs = flow.blockRuns;
    const last = runs[runs.length - 1];
    if (blockNo === last + 1) runs[runs.length - 1] = blockNo;
    else if (blockNo > last) runs.push(blockNo, blockNo);
  }

  /** The index as saved. */
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
      blocks: this.#blocks,
      flows: [...this.#flows.values()].map((f) => [f.key, f.firstMs, f.lastMs, f.packets, f.bytes, f.blockRuns]),
      unkeyed: this.#unkeyed,
    };
  }
}

/** Reads a saved index; undefined when it is missing, unreadable or of another version. */
export function readFileIndex(path: string): FileIndexData | undefined {
  try {
    const data = JSON.parse(readFileSync(path, 'utf8')) as FileIndexData;
    return data.version === INDEX_VERSION && Array.isArray(data.blocks) && Array.isArray(data.flows) ? data : undefined;
  } catch {
    return undefined;
  }
}

/** The blocks holding any of `keys`' packets (and the unkeyed blocks), ascending. */
export function blocksOfFlows(index: FileIndexData, keys: ReadonlySet<string>): number[] {
  const chosen = new Set<number>(index.unkeyed);
  for (const [key, , , , , runs] of index.flows) {
    if (!keys.has(key)) continue;
    for (let i = 0; i < runs.length; i += 2) for (let b = runs[i]; b <= runs[i + 1]; b++) chosen.add(b);
  }
  return [...chosen].sort((x, y) => x - y);
}
