// One pcap file being written: nanosecond pcap under a temporary name, records
// appended through a buffer, and renamed to its final name only when complete, so
// whoever lists the directory reads whole files. A write that fails leaves the file cut
// at its last whole record.
import { closeSync, existsSync, fsyncSync, ftruncateSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import { fileHeader, FILE_HEADER_BYTES, RECORD_HEADER_BYTES } from './pcap-format.ts';

const NATIVE_LE = endianness() === 'LE';
/** Bytes gathered before one write(2). */
export const PCAP_BUFFER_BYTES = 1024 * 1024;

function writeAll(fd: number, b: Uint8Array): void {
  let done = 0;
  while (done < b.length) done += writeSync(fd, b, done, b.length - done);
}

export class PcapFile {
  readonly partPath: string;
  /** Bytes in the file once flushed (header included). */
  bytes = FILE_HEADER_BYTES;
  packets = 0;
  readonly #fd: number;
  readonly #snaplen: number;
  readonly #buffer = Buffer.allocUnsafe(PCAP_BUFFER_BYTES);
  readonly #view = new DataView(this.#buffer.buffer, this.#buffer.byteOffset, this.#buffer.length);
  #buffered = 0;
  #flushed = FILE_HEADER_BYTES;

  /** Creates `partPath` with a pcap header; throws the system's error (ENOSPC, EACCES, ...). */
  constructor(partPath: string, dlt: number, snaplen: number) {
    this.partPath = partPath;
    this.#snaplen = snaplen;
    this.#fd = openSync(partPath, 'w', 0o640);
    try {
      writeAll(this.#fd, fileHeader(dlt, snaplen));
    } catch (err) {
      closeSync(this.#fd);
      rmSync(partPath, { force: true });
      throw err;
    }
  }

  /** Bytes a record of `caplen` captured bytes takes here (cut to the snapshot length). */
  recordBytes(caplen: number): number {
    return RECORD_HEADER_BYTES + Math.min(caplen, this.#snaplen);
  }

  /**
   * Appends the pcap record at `at` in `memory` (native byte order; `nanoseconds` says
   * whether its fraction is already in nanoseconds). Throws when the disk refuses.
   */
  append(memory: Uint8Array, at: number, caplen: number, nanoseconds: boolean): void {
    const kept = Math.min(caplen, this.#snaplen);
    const size = RECORD_HEADER_BYTES + kept;
    if (this.#buffered + size > PCAP_BUFFER_BYTES) this.flush();
    const o = this.#buffered;
    this.#buffer.set(memory.subarray(at, at + size), o);
    if (kept < caplen) this.#view.setUint32(o + 8, kept, NATIVE_LE);
    if (!nanoseconds) this.#view.setUint32(o + 4, this.#view.getUint32(o + 4, NATIVE_LE) * 1000, NATIVE_LE);
    this.#buffered += size;
    this.bytes += size;
    this.packets++;
  }

  /** Writes the buffer out; on failure the file is cut back to its last whole record and the error thrown. */
  flush(): void {
    if (this.#buffered === 0) return;
    try {
      writeAll(this.#fd, this.#buffer.subarray(0, this.#buffered));
      this.#flushed += this.#buffered;
    } catch (err) {
      try {
        ftruncateSync(this.#fd, this.#flushed);
      } catch {
        // the reader stops at the first damaged record
      }
      this.bytes = this.#flushed;
      throw err;
    } finally {
      this.#buffered = 0;
    }
  }

  /**
   * Completes the file under `finalPath` (or `<name>_2.pcap`, `_3`, ... if that exists:
   * nothing is overwritten). Returns the path it got. A failed flush still closes it.
   */
  close(finalPath: string): string {
    let error: unknown;
    try {
      this.flush();
      fsyncSync(this.#fd);
    } catch (err) {
      error = err;
    }
    closeSync(this.#fd);
    let path = finalPath;
    for (let n = 2; existsSync(path); n++) path = finalPath.replace(/(\.pcap)?$/, `_${n}.pcap`);
    renameSync(this.partPath, path);
    if (error) throw Object.assign(error as Error, { closedAs: path });
    return path;
  }

  /** Removes the file (nothing of it is kept). */
  discard(): void {
    try {
      closeSync(this.#fd);
    } catch {
      // closed
    }
    rmSync(this.partPath, { force: true });
  }
}
