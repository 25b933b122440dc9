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
import { BpfProgram } from '../native/libpcap.ts';
import { blocksOfFlows, readFileIndex, type FileIndexData } from './file-index.ts';
import { copyRecordNative, fileHeader, FILE_HEADER_BYTES, parseFileHeader, RECORD_HEADER_BYTES, walkRecords, type FileHeader } from './pcap-format.ts';
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
 * Produces the pcap of `q` from the recording in `dir`, chunk by chunk. The first
 * chunk (the file header, and packets if any) comes once the first match is found
 * or the end is reached, so a caller can learn the empty reason before answering.
 */
export function* extract(dir: string, q: ExtractionQuery): Generator<Uint8Array, ExtractionResult> {
  const result: ExtractionResult = { packets: 0, bytes: 0, filesRead: 0, bytesRead: 0 };
  const beginMs = Number(q.beginNs / 1_000_000n) - 1;
  const endMs = Number(q.endNs / 1_000_000n) + 1;
  const files = listFiles(dir);
  const plans: { file: StoredFile; index?: FileIndexData; ranges: Range[] }[] = [];
  let anyInWindow = false;
  for (const file of files) {
    const index = file.writing ? undefined : readFileIndex(file.indexPath);
    if (index) {
      if (index.packets > 0 && (result.oldestMs === undefined || index.firstMs < result.oldestMs)) result.oldestMs = index.firstMs;
      if (index.packets === 0 || index.lastMs < beginMs || index.firstMs > endMs) continue;
      anyInWindow = true;
      const ranges = rangesOf(index, beginMs, endMs, q.flows);
      if (ranges.length > 0) plans.push({ file, index, ranges });
    } else {
      // Being written, or its index is gone: read it whole.
      plans.push({ file, ranges: [{ start: FILE_HEADER_BYTES, end: file.bytes }] });
    }
  }

  let header: FileHeader | undefined;
  let filter: BpfProgram | undefined;
  const out = Buffer.allocUnsafe(CHUNK_BYTES + 262_160);
  let used = 0;
  let started = false;
  const matcher = q.flows ? new FlowMatcher(q.flows) : undefined;
  try {
    for (const plan of plans) {
      const fd = openStored(plan.file);
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
        for (const range of plan.ranges) {
          for (let pos = range.start; pos < range.end;) {
            const want = Math.min(READ_BYTES, range.end - pos);
            const buf = Buffer.allocUnsafe(want);
            const got = readSync(fd, buf, 0, want, pos);
            if (got <= 0) break;
            result.bytesRead += got;
            const bytes = buf.subarray(0, got);
            let stop = false;
            const consumed = walkRecords(bytes, h, (at, r) => {
              if (r.timeNs > q.endNs) {
                // Capture order is time order but for small inversions between CPUs: well past the end, stop.
                stop = r.timeNs > q.endNs + PAST_END_NS;
                return stop ? false : undefined;
              }
              if (r.timeNs < q.beginNs) return undefined;
              anyInWindow = true;
              const data = bytes.subarray(at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + r.caplen);
              if (filter && !filter.matches(data, r.length)) return undefined;
              if (matcher && !matcher.matches(data, r.caplen, r.length, h.dlt)) return undefined;
              used += copyRecordNative(bytes, at, h, out, used);
              result.packets++;
              return undefined;
            });
            if (stop) break;
            if (consumed === 0) break; // a damaged record: the rest of this range is unreadable
            pos += consumed;
            if (used >= CHUNK_BYTES) {
              const chunk = started ? Buffer.from(out.subarray(0, used)) : Buffer.concat([fileHeader(header.dlt, header.snaplen), out.subarray(0, used)]);
              started = true;
              used = 0;
              result.bytes += chunk.length;
              yield chunk;
            }
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
  const h = header ?? { dlt: DEFAULT_DLT, snaplen: DEFAULT_SNAPLEN };
  const last = started ? Buffer.from(out.subarray(0, used)) : Buffer.concat([fileHeader(h.dlt, h.snaplen), out.subarray(0, used)]);
  result.bytes += last.length;
  if (result.packets === 0) result.emptyReason = emptyReason(files.length, anyInWindow, result.oldestMs, q);
  yield last;
  return result;
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

/** Byte ranges of the blocks overlapping the window (and holding the flows, if given), adjacent ones merged. */
function rangesOf(index: FileIndexData, beginMs: number, endMs: number, flows: ReadonlySet<string> | undefined): Range[] {
  const candidates = flows ? blocksOfFlows(index, flows) : index.blocks.map((_, i) => i);
  const ranges: Range[] = [];
  for (const b of candidates) {
    const block = index.blocks[b];
    if (!block || block[3] === 0 || block[2] < beginMs || block[1] > endMs) continue;
    const start = block[0];
    const end = b + 1 < index.blocks.length ? index.blocks[b + 1][0] : index.fileBytes;
    const last = ranges[ranges.length - 1];
    if (last && last.end === start) last.end = end;
    else ranges.push({ start, end });
  }
  return ranges;
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
