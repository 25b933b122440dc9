// The classic pcap file format as flowbridge writes and reads it: a 24-byte file
// header, then records of a 16-byte header (seconds, fraction, captured length, wire
// length) and the captured bytes. Recordings are nanosecond pcap (magic a1b23c4d) in
// this machine's byte order, which is what libpcap's dumper writes, so a record read
// from the capture memory is written as it is. Readers accept both byte orders and
// both precisions, as tcpdump and Wireshark do.
import { endianness } from 'node:os';

export const FILE_HEADER_BYTES = 24;
export const RECORD_HEADER_BYTES = 16;
export const MAGIC_MICROSECONDS = 0xa1b2c3d4;
export const MAGIC_NANOSECONDS = 0xa1b23c4d;
/** Larger than any snapshot length libpcap uses: a record claiming more is damage. */
export const MAX_CAPLEN = 262_144;

const NATIVE_LE = endianness() === 'LE';

export interface FileHeader {
  littleEndian: boolean;
  nanoseconds: boolean;
  snaplen: number;
  /** Link type (DLT_ number). */
  dlt: number;
}

/** The header of a nanosecond pcap file in this machine's byte order. */
export function fileHeader(dlt: number, snaplen: number): Buffer {
  const b = Buffer.alloc(FILE_HEADER_BYTES);
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  v.setUint32(0, MAGIC_NANOSECONDS, NATIVE_LE);
  v.setUint16(4, 2, NATIVE_LE);
  v.setUint16(6, 4, NATIVE_LE);
  v.setUint32(16, snaplen, NATIVE_LE);
  v.setUint32(20, dlt, NATIVE_LE);
  return b;
}

/** Reads a pcap file header; undefined when these bytes are not one. */
export function parseFileHeader(b: Uint8Array): FileHeader | undefined {
  if (b.length < FILE_HEADER_BYTES) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  for (const littleEndian of [true, false]) {
    const magic = v.getUint32(0, littleEndian);
    if (magic === MAGIC_MICROSECONDS || magic === MAGIC_NANOSECONDS) {
      return { littleEndian, nanoseconds: magic === MAGIC_NANOSECONDS, snaplen: v.getUint32(16, littleEndian), dlt: v.getUint32(20, littleEndian) & 0x0fffffff };
    }
  }
  return undefined;
}

/** One record's header fields. `timeNs` is epoch nanoseconds (a bigint: they pass 2^53). */
export interface RecordHeader {
  timeNs: bigint;
  caplen: number;
  length: number;
}

/** Reads the header of the record at `at` into `r`; false unless the whole record is in `bytes` and sane. */
export function readRecordHeader(bytes: Uint8Array, at: number, h: FileHeader, r: RecordHeader): boolean {
  if (at < 0 || at + RECORD_HEADER_BYTES > bytes.length) return false;
  const v = new DataView(bytes.buffer, bytes.byteOffset + at, RECORD_HEADER_BYTES);
  const caplen = v.getUint32(8, h.littleEndian);
  if (caplen > MAX_CAPLEN || at + RECORD_HEADER_BYTES + caplen > bytes.length) return false;
  r.timeNs = BigInt(v.getUint32(0, h.littleEndian)) * 1_000_000_000n + BigInt(v.getUint32(4, h.littleEndian)) * (h.nanoseconds ? 1n : 1000n);
  r.caplen = caplen;
  r.length = v.getUint32(12, h.littleEndian);
  return true;
}

/**
 * Walks the whole records in `bytes` (which starts at a record boundary). Calls
 * `visit(recordStart, header)` for each; returns the offset just past the last whole
 * record, where a cut-short or damaged record (if any) starts.
 */
export function walkRecords(bytes: Uint8Array, h: FileHeader, visit: (at: number, r: RecordHeader) => boolean | void): number {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const le = h.littleEndian;
  const scale = h.nanoseconds ? 1n : 1000n;
  const record: RecordHeader = { timeNs: 0n, caplen: 0, length: 0 };
  let at = 0;
  while (at + RECORD_HEADER_BYTES <= bytes.length) {
    const caplen = v.getUint32(at + 8, le);
    if (caplen > MAX_CAPLEN || at + RECORD_HEADER_BYTES + caplen > bytes.length) break;
    record.timeNs = BigInt(v.getUint32(at, le)) * 1_000_000_000n + BigInt(v.getUint32(at + 4, le)) * scale;
    record.caplen = caplen;
    record.length = v.getUint32(at + 12, le);
    if (visit(at, record) === false) return at;
    at += RECORD_HEADER_BYTES + caplen;
  }
  return at;
}

/** Epoch nanoseconds of a record header in this machine's byte order (its fraction in nanoseconds, or microseconds). */
export function nativeRecordTimeNs(bytes: Uint8Array, at: number, nanoseconds = true): bigint {
  const v = new DataView(bytes.buffer, bytes.byteOffset + at, 8);
  const frac = BigInt(v.getUint32(4, NATIVE_LE));
  return BigInt(v.getUint32(0, NATIVE_LE)) * 1_000_000_000n + (nanoseconds ? frac : frac * 1000n);
}

/** Converts a record to this machine's byte order and nanoseconds, in place in `out` at `o`. */
export function copyRecordNative(src: Uint8Array, at: number, h: FileHeader, out: Uint8Array, o: number): number {
  const caplen = new DataView(src.buffer, src.byteOffset + at, 16).getUint32(8, h.littleEndian);
  const total = RECORD_HEADER_BYTES + caplen;
  out.set(src.subarray(at, at + total), o);
  if (h.littleEndian !== NATIVE_LE || !h.nanoseconds) {
    const s = new DataView(src.buffer, src.byteOffset + at, 16);
    const d = new DataView(out.buffer, out.byteOffset + o, 16);
    const frac = s.getUint32(4, h.littleEndian);
    d.setUint32(0, s.getUint32(0, h.littleEndian), NATIVE_LE);
    d.setUint32(4, h.nanoseconds ? frac : frac * 1000, NATIVE_LE);
    d.setUint32(8, caplen, NATIVE_LE);
    d.setUint32(12, s.getUint32(12, h.littleEndian), NATIVE_LE);
  }
  return total;
}
