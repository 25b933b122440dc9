// Extraction from a recording: the packets of a time window (packet-precise, in
// nanoseconds) that pass a BPF filter and, optionally, belong to given flows, read
// from the files and the blocks of them that the indexes point to, in time order
// across files, as one pcap stream produced in chunks (memory does not grow with
// the result).
//
// The file being written has no index yet: it is scanned whole (it is at most one
// file's size), so the last seconds are extractable too.
import { closeSync, openSync, readSync } from 'node:fs';
import { PacketBatch } from '../capture/packet-batch.ts';
import { decodeFrame, FragmentPorts, newDecodedPacket } from '../capture/packet-decoder.ts';
import { posix_fadvise, POSIX_FADV_WILLNEED } from '../native/libc.ts';
import { BpfProgram } from '../native/libpcap.ts';
import { lookupFlows, readFileIndex, type FileIndexData } from './file-index.ts';
import { copyRecordNative, fileHeader, FILE_HEADER_BYTES, parseFileHeader, readRecordHeader, RECORD_HEADER_BYTES, type FileHeader, type RecordHeader } from './pcap-format.ts';
import { listFiles, type StoredFile } from './store.ts';

export interface ExtractionQuery {
  /** Window, epoch nanoseconds, both ends included. */
  beginNs: bigint;
  endNs: bigint;
  /** libpcap filter expression (host/port filters are folded into it by the caller). */
  bpf?: string;
  /** Only packets of these flow keys (flows API keys). An empty set matches nothing. */
  flows?: ReadonlySet<string>;
}

/** Why an extraction holds no packet. */
export type EmptyReason = 'nothing-recorded' | 'window-too-old' | 'nothing-in-window' | 'filter-matched-nothing';

export const EMPTY_REASON_TEXT: Record<EmptyReason, string> = {
  'nothing-recorded': 'nothing is recorded on this interface yet',
  'window-too-old': 'the window is older than the oldest recorded packet (those files were deleted to stay under the max disk space)',
  'nothing-in-window': 'nothing was recorded in this window',
  'filter-matched-nothing': 'packets were recorded in this window, but none matched the filter',
};

export interface ExtractionResult {
  packets: number;
  /** Bytes of the pcap produced, file header included. */
  bytes: number;
  /** Files and bytes of them read. */
  filesRead: number;
  bytesRead: number;
  emptyReason?: EmptyReason;
  /** Epoch ms of the oldest packet kept, when anything is. */
  oldestMs?: number;
}

/** The caller's mistake (e.g. a filter libpcap refuses): a 400, with libpcap's words. */
export class ExtractionError extends Error {}

const CHUNK_BYTES = 256 * 1024;
const READ_BYTES = 4 * 1024 * 1024;
const DEFAULT_DLT = 1;
const DEFAULT_SNAPLEN = 65535;
const PAST_END_NS = 1_000_000_000n;

interface Range {
  start: number;
  end: number;
}

/** Throws ExtractionError when libpcap cannot compile `filter` (for link type `dlt`). */
export function checkFilter(filter: string, dlt = DEFAULT_DLT): void {
  try {
    new BpfProgram(filter, dlt).free();
  } catch (err) {
    throw new ExtractionError((err as Error).message);
  }
}

/**
 * What to read of one file, in file order: byte ranges walked record by record, and
 * clusters of records at known offsets (a flow's, from the index) read in one go.
 */
interface ReadItem {
  start: number;
  end: number;
  /** Records at these offsets only (ascending); absent: every record of the range. */
  offsets?: number[];
}

/** Records of one flow cluster are read together when they are this close. */
const CLUSTER_GAP_BYTES = 32 * 1024;
/** What a cluster reads past its last record's header (a full-size Ethernet frame fits). */
const TYPICAL_RECORD_BYTES = 1600;
const MAX_RECORD_BYTES = RECORD_HEADER_BYTES + 262_144;

/** The reads of an indexed file for the window and, when given, the flows. */
function plan(file: StoredFile, index: FileIndexData, beginMs: number, endMs: number, flows: ReadonlySet<string> | undefined): ReadItem[] {
  const overlapping = (b: number) => {
    const block = index.blocks[b];
    return block !== undefined && block[3] > 0 && block[2] >= beginMs && block[1] <= endMs;
  };
  const blockRange = (b: number): Range => ({ start: index.blocks[b][0], end: b + 1 < index.blocks.length ? index.blocks[b + 1][0] : index.fileBytes });
  const merged = (blocks: number[]): ReadItem[] => {
    const out: ReadItem[] = [];
    for (const b of blocks) {
      if (!overlapping(b)) continue;
      const r = blockRange(b);
      const last = out[out.length - 1];
      if (last && last.end === r.start) last.end = r.end;
      else out.push(r);
    }
    return out;
  };
  if (!flows) return merged(index.blocks.map((_, i) => i));

  // Blocks with packets that have no flow key are walked (the matcher decides); the
  // flows' own records are read at their offsets, except those such a walk covers.
  const walks = merged(index.unkeyed);
  const inWalk = (o: number) => walks.some((w) => o >= w.start && o < w.end);
  const offsets = lookupFlows(file.indexPath, flows)
    .filter((f) => f.lastMs >= beginMs && f.firstMs <= endMs)
    .flatMap((f) => f.offsets)
    .filter((o) => !inWalk(o))
    .sort((a, b) => a - b);
  const items: ReadItem[] = [...walks];
  // Most records are short: a cluster reads a typical record's worth past its last offset; a longer one is read on its own.
  const recordEnd = (o: number) => Math.min(o + RECORD_HEADER_BYTES + Math.min(index.snaplen, TYPICAL_RECORD_BYTES), index.fileBytes);
  let cluster: ReadItem | undefined;
  for (const o of offsets) {
    if (cluster && o - cluster.offsets![cluster.offsets!.length - 1] <= CLUSTER_GAP_BYTES && recordEnd(o) - cluster.start <= READ_BYTES) {
      cluster.offsets!.push(o);
      cluster.end = recordEnd(o);
    } else {
      cluster = { start: o, end: recordEnd(o), offsets: [o] };
      items.push(cluster);
    }
  }
  return items.sort((a, b) => a.start - b.start);
}

/**
 * Produces the pcap of `q` from the recording in `dir`, chunk by chunk. The first
 * chunk (the file header, and packets if any) comes once the first match is found
 * or the end is reached, so a caller can learn the empty reason before answering.
 */
export function* extract(dir: string, q: ExtractionQuery): Generator<Uint8Array, ExtractionResult> {
  const result: ExtractionResult = { packets: 0, bytes: 0, filesRead: 0, bytesRead: 0 };
  const beginMs = Number(q.beginNs / 1_000_000n) - 1;
  const endMs = Number(q.endNs / 1_000_000n) + 1;
  const files = listFiles(dir);
  const plans: { file: StoredFile; items: ReadItem[]; indexed: boolean }[] = [];
  let anyInWindow = false;
  for (const file of files) {
    const index = file.writing ? undefined : readFileIndex(file.indexPath);
    if (index) {
      if (index.packets > 0 && (result.oldestMs === undefined || index.firstMs < result.oldestMs)) result.oldestMs = index.firstMs;
      if (index.packets === 0 || index.lastMs < beginMs || index.firstMs > endMs) continue;
      anyInWindow = true;
      const items = plan(file, index, beginMs, endMs, q.flows);
      if (items.length > 0) plans.push({ file, items, indexed: true });
    } else {
      // Being written, or its index is gone: read it whole.
      plans.push({ file, items: [{ start: FILE_HEADER_BYTES, end: file.bytes }], indexed: false });
    }
  }

  let header: FileHeader | undefined;
  let filter: BpfProgram | undefined;
  const out = Buffer.allocUnsafe(CHUNK_BYTES + MAX_RECORD_BYTES);
  let used = 0;
  let started = false;
  const chunk = (h: { dlt: number; snaplen: number }) => {
    const c = started ? Buffer.from(out.subarray(0, used)) : Buffer.concat([fileHeader(h.dlt, h.snaplen), out.subarray(0, used)]);
    started = true;
    used = 0;
    result.bytes += c.length;
    return c;
  };
  const matcher = q.flows ? new FlowMatcher(q.flows) : undefined;
  const record: RecordHeader = { timeNs: 0n, caplen: 0, length: 0 };
  try {
    for (const { file, items, indexed } of plans) {
      const fd = openStored(file);
      if (fd === undefined) continue;
      try {
        const head = Buffer.alloc(FILE_HEADER_BYTES);
        if (readSync(fd, head, 0, FILE_HEADER_BYTES, 0) < FILE_HEADER_BYTES) continue;
        const h = parseFileHeader(head);
        if (!h) continue;
        if (!header) {
          header = h;
          if (q.bpf) {
            try {
              filter = new BpfProgram(q.bpf, h.dlt, Math.max(h.snaplen, DEFAULT_SNAPLEN));
            } catch (err) {
              throw new ExtractionError((err as Error).message);
            }
          }
        }
        result.filesRead++;
        // Ask for every scattered cluster at once: the disk serves them together rather than one seek after another.
        if (items.length > 1) for (const item of items) posix_fadvise(fd, item.start, item.end - item.start, POSIX_FADV_WILLNEED);
        /** Copies the record at `at` of `bytes` (header in `record`) when it is in the window and passes the filters. */
        const consider = (bytes: Uint8Array, at: number, byFlow: boolean): void => {
          if (record.timeNs > q.endNs || record.timeNs < q.beginNs) return;
          anyInWindow = true;
          const data = bytes.subarray(at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + record.caplen);
          if (filter && !filter.matches(data, record.length)) return;
          if (byFlow && !matcher!.matches(data, record.caplen, record.length, h.dlt)) return;
          used += copyRecordNative(bytes, at, h, out, used);
          result.packets++;
        };
        for (const item of items) {
          if (item.offsets) {
            // A flow's records, read in one go and taken at their offsets.
            const bytes = Buffer.allocUnsafe(item.end - item.start);
            const got = readSync(fd, bytes, 0, bytes.length, item.start);
            result.bytesRead += got;
            for (const o of item.offsets) {
              if (readRecordHeader(bytes.subarray(0, got), o - item.start, h, record)) consider(bytes, o - item.start, false);
              else {
                // Longer than the cluster read: this record alone.
                const alone = readRecordAt(fd, o, h, record);
                if (!alone) break; // the index points past what the file holds
                result.bytesRead += alone.length;
                consider(alone, 0, false);
              }
              if (used >= CHUNK_BYTES) yield chunk(h);
            }
            continue;
          }
          // A range walked record by record (a window's blocks, unkeyed blocks, an unindexed file).
          const byFlow = matcher !== undefined;
          let stop = false;
          for (let pos = item.start; pos < item.end && !stop;) {
            const want = Math.min(READ_BYTES, item.end - pos);
            const bytes = Buffer.allocUnsafe(want);
            const got = readSync(fd, bytes, 0, want, pos);
            if (got <= 0) break;
            result.bytesRead += got;
            let at = 0;
            while (readRecordHeader(bytes.subarray(0, got), at, h, record)) {
              // Capture order is time order but for small inversions between CPUs: well past the end, stop.
              if (!indexed && record.timeNs > q.endNs + PAST_END_NS) {
                stop = true;
                break;
              }
              consider(bytes, at, byFlow);
              at += RECORD_HEADER_BYTES + record.caplen;
              if (used >= CHUNK_BYTES) yield chunk(h);
            }
            if (at === 0) break; // a damaged record: the rest of this range is unreadable
            pos += at;
          }
        }
      } finally {
        closeSync(fd);
      }
    }
  } finally {
    filter?.free();
  }
  if (!header && q.bpf) checkFilter(q.bpf);
  const last = chunk(header ?? { dlt: DEFAULT_DLT, snaplen: DEFAULT_SNAPLEN });
  if (result.packets === 0) result.emptyReason = emptyReason(files.length, anyInWindow, result.oldestMs, q);
  yield last;
  return result;
}

/** The whole record at file offset `o` (its header parsed into `r`), or undefined when the file does not hold it. */
function readRecordAt(fd: number, o: number, h: FileHeader, r: RecordHeader): Buffer | undefined {
  const head = Buffer.alloc(RECORD_HEADER_BYTES);
  if (readSync(fd, head, 0, RECORD_HEADER_BYTES, o) < RECORD_HEADER_BYTES) return undefined;
  const caplen = head.readUInt32LE(8);
  const whole = Buffer.alloc(RECORD_HEADER_BYTES + Math.min(h.littleEndian ? caplen : head.readUInt32BE(8), MAX_RECORD_BYTES));
  const got = readSync(fd, whole, 0, whole.length, o);
  return readRecordHeader(whole.subarray(0, got), 0, h, r) ? whole : undefined;
}

/** Opens a stored file; one closed since the listing is found under its final name; a deleted one is skipped. */
function openStored(file: StoredFile): number | undefined {
  const paths = file.writing ? [file.path, file.path.replace(/\/\.([^/]+)\.part$/, '/$1')] : [file.path];
  for (const path of paths) {
    try {
      return openSync(path, 'r');
    } catch {
      // try the next name
    }
  }
  return undefined;
}

function emptyReason(fileCount: number, anyInWindow: boolean, oldestMs: number | undefined, q: ExtractionQuery): EmptyReason {
  if (fileCount === 0) return 'nothing-recorded';
  if (anyInWindow) return 'filter-matched-nothing';
  if (oldestMs !== undefined && Number(q.endNs / 1_000_000n) < oldestMs) return 'window-too-old';
  return 'nothing-in-window';
}

/** Tells whether a stored packet belongs to one of a set of flows, with the capture's own decoder and keys. */
class FlowMatcher {
  readonly #keys: ReadonlySet<string>;
  readonly #batch = new PacketBatch(4096);
  readonly #packet = newDecodedPacket();
  readonly #fragments = new FragmentPorts();
  #slotKeys: (string | undefined)[] = [];
  #generation = -1;

  constructor(keys: ReadonlySet<string>) {
    this.#keys = keys;
  }

  matches(data: Uint8Array, caplen: number, length: number, dlt: number): boolean {
    if (decodeFrame(data, 0, caplen, length, dlt, this.#packet, this.#fragments) !== undefined) return false;
    let slot = this.#batch.add(data, this.#packet, 0);
    if (slot < 0) {
      this.#batch.take();
      slot = this.#batch.add(data, this.#packet, 0);
    }
    if (this.#batch.generation !== this.#generation) {
      this.#generation = this.#batch.generation;
      this.#slotKeys = [];
    }
    const key = (this.#slotKeys[slot] ??= this.#batch.keyOf(slot));
    return this.#keys.has(key);
  }
}
