// The continuous recording of one packet interface: whole packets, as the capture
// reads them, appended to nanosecond pcap files under a temporary name, rotated by
// size and duration, indexed on the fly, and renamed (index saved beside) when
// closed. The oldest files go when the store passes its max disk space. A full disk
// pauses recording (capture and flows go on), counts what could not be written, and
// recording resumes by itself when space returns.
//
// It runs in the capture process, which already holds every packet in pcap record
// memory (capture-records.ts): writing one is a copy, never a call per packet.
import { closeSync, fsyncSync, ftruncateSync, mkdirSync, openSync, renameSync, statfsSync, unlinkSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import type { RecordingSettings, RecordingStats } from '../model/recording.ts';
import { FileIndexBuilder, type SlotKeys } from './file-index.ts';
import type { PacketSink } from './sink.ts';
import { fileHeader, FILE_HEADER_BYTES, RECORD_HEADER_BYTES } from './pcap-format.ts';
import { indexRecords, recoverStore } from './recovery.ts';
import { diskBytesOf, fileName, indexPathOf, listFiles, partName, removeFile, type StoredFile } from './store.ts';

const NATIVE_LE = endianness() === 'LE';
/** Bytes gathered before one write(2). */
const WRITE_BUFFER_BYTES = 1024 * 1024;
/** How often a paused recording tries the disk again. */
const RETRY_MS = 1000;
/** Last log lines kept for the status page. */
const LOG_LINES = 50;
/** Smallest file a tiny store is split into. */
const MIN_FILE_BYTES = 64 * 1024;

interface OpenFile {
  seq: number;
  name: string;
  partPath: string;
  fd: number;
  /** Bytes in the file (header included), not counting the write buffer. */
  written: number;
  startMs: number;
  index: FileIndexBuilder;
}

export class RecordingWriter implements PacketSink {
  readonly #s: RecordingSettings;
  readonly #dlt: number;
  readonly #buffer = Buffer.allocUnsafe(WRITE_BUFFER_BYTES);
  readonly #view = new DataView(this.#buffer.buffer, this.#buffer.byteOffset, this.#buffer.length);
  #buffered = 0;
  #file: OpenFile | undefined;
  /** Closed files, oldest first, with their disk bytes. */
  #closed: { file: StoredFile; diskBytes: number; firstMs: number }[] = [];
  #nextSeq = 1;
  #retryAt = 0;
  readonly #maxFileBytes: number;
  readonly #stats: RecordingStats;

  readonly #nanoseconds: boolean;

  /** `nanoseconds`: the capture's records carry nanoseconds (else microseconds, converted as written). */
  constructor(settings: RecordingSettings, dlt: number, nanoseconds = true, nowMs = Date.now()) {
    this.#s = settings;
    this.#dlt = dlt;
    this.#nanoseconds = nanoseconds;
    // A store smaller than four files of the configured size is split finer, so the ring keeps turning.
    this.#maxFileBytes = Math.max(MIN_FILE_BYTES, Math.min(settings.maxFileBytes, Math.floor(settings.maxDiskBytes / 4)));
    this.#stats = {
      enabled: true, state: 'running', since: nowMs, packets: 0, bytes: 0, files: 0, diskBytes: 0,
      maxDiskBytes: settings.maxDiskBytes, deletedFiles: 0, dropped: {}, log: [],
    };
    try {
      mkdirSync(settings.dir, { recursive: true });
      for (const line of recoverStore(settings.dir)) this.#log(line);
      for (const f of listFiles(settings.dir)) {
        this.#closed.push({ file: f, diskBytes: diskBytesOf(f), firstMs: 0 });
        this.#nextSeq = f.seq + 1;
      }
      this.#enforceMaxDisk();
    } catch (err) {
      this.#fail(`cannot use ${settings.dir}: ${(err as Error).message}`);
    }
  }

  /**
   * Records the pcap record at `at` in `memory` (header and `caplen` bytes, native
   * byte order, nanosecond fraction), of the flow in `slot` of `keys` (-1: none).
   */
  add(memory: Uint8Array, at: number, caplen: number, wireLength: number, tsMs: number, slot: number, keys: SlotKeys): void {
    const st = this.#stats;
    if (st.state !== 'running') {
      this.#drop(st.state === 'paused' ? 'disk-full' : 'failed');
      return;
    }
    const snaplen = this.#s.snaplen;
    const kept = caplen > snaplen ? snaplen : caplen;
    const size = RECORD_HEADER_BYTES + kept;
    let f = this.#file;
    if (f !== undefined && f.written + this.#buffered + size > this.#maxFileBytes && f.index.packets > 0) {
      this.#closeFile();
      f = undefined;
    }
    if (f === undefined) {
      f = this.#openFile(tsMs);
      if (f === undefined) {
        this.#drop(this.#stats.state === 'paused' ? 'disk-full' : 'failed');
        return;
      }
    }
    if (this.#buffered + size > WRITE_BUFFER_BYTES && !this.#flush()) {
      this.#drop('disk-full');
      return;
    }
    const o = this.#buffered;
    this.#buffer.set(memory.subarray(at, at + size), o);
    if (kept < caplen) this.#view.setUint32(o + 8, kept, NATIVE_LE); // a shorter snapshot than the capture's
    if (!this.#nanoseconds) this.#view.setUint32(o + 4, this.#view.getUint32(o + 4, NATIVE_LE) * 1000, NATIVE_LE);
    f.index.add(f.written + o, size, tsMs, wireLength, slot, keys);
    this.#buffered += size;
    st.packets++;
    st.bytes += size;
    st.newest = tsMs;
  }

  /** Writes what is buffered, rotates a file past its duration, retries a paused recording. */
  tick(nowMs = Date.now()): void {
    const st = this.#stats;
    // Space has returned only when there is room for a whole write: the failed write's own bytes, cut off
    // when it paused, are less than that, so a disk that is still full does not flap between paused and running.
    if (st.state === 'paused' && nowMs >= this.#retryAt && freeBytes(this.#s.dir) >= WRITE_BUFFER_BYTES) {
      this.#retryAt = nowMs + RETRY_MS;
      // Resume by opening a new file; the packets that arrive from now on go there.
      st.state = 'running';
      delete st.error;
      const f = this.#openFile(nowMs);
      if (f) this.#log(`disk space is back: recording resumed in ${f.name}`);
    }
    if (st.state !== 'running' || this.#file === undefined) return;
    if (!this.#flush()) return;
    if (nowMs - this.#file.startMs >= this.#s.maxFileSeconds * 1000) this.#closeFile();
    this.#enforceMaxDisk();
  }

  /** Closes the current file (renamed, index saved). */
  close(): void {
    if (this.#file) this.#closeFile();
    // The last file's index counts too: the store stays under its bound once stopped.
    this.#enforceMaxDisk();
    if (this.#stats.state === 'running' || this.#stats.state === 'paused') this.#stats.state = 'stopped';
  }

  stats(): RecordingStats {
    const st = this.#stats;
    const current = this.#file ? this.#file.written + this.#buffered : 0;
    st.files = this.#closed.length + (this.#file ? 1 : 0);
    st.diskBytes = this.#closed.reduce((n, c) => n + c.diskBytes, 0) + current;
    const oldest = this.#closed[0];
    st.oldest = oldest ? oldest.firstMs || startOfName(oldest.file.name) : this.#file?.startMs;
    return { ...st, dropped: { ...st.dropped }, log: [...st.log] };
  }

  #openFile(tsMs: number): OpenFile | undefined {
    const seq = this.#nextSeq;
    const name = fileName(seq, tsMs);
    const partPath = join(this.#s.dir, partName(name));
    let fd: number | undefined;
    try {
      fd = openSync(partPath, 'w', 0o640);
      writeAll(fd, fileHeader(this.#dlt, this.#s.snaplen));
    } catch (err) {
      if (fd !== undefined) {
        closeSync(fd);
        // Not even the header fits: no empty file is left behind (a restart would set it aside as damaged).
        try {
          unlinkSync(partPath);
        } catch {
          // already gone
        }
      }
      this.#writeFailed(err as NodeJS.ErrnoException, partPath);
      return undefined;
    }
    this.#nextSeq++;
    this.#file = { seq, name, partPath, fd, written: FILE_HEADER_BYTES, startMs: tsMs, index: new FileIndexBuilder(this.#dlt, this.#s.snaplen) };
    return this.#file;
  }

  /** Writes the buffer out. False when it could not (the recording is then paused or failed). */
  #flush(): boolean {
    const f = this.#file;
    if (f === undefined || this.#buffered === 0) return true;
    try {
      writeAll(f.fd, this.#buffer.subarray(0, this.#buffered));
      f.written += this.#buffered;
      this.#buffered = 0;
      return true;
    } catch (err) {
      // Whatever part of the buffer reached the disk is cut off: the file keeps whole records only.
      try {
        ftruncateSync(f.fd, f.written);
      } catch {
        // the file stays longer; start-up repair cuts it at its last whole record
      }
      this.#buffered = 0;
      const kept = this.#closeFile(true);
      const lost = f.index.packets - kept;
      this.#stats.packets -= lost;
      this.#drop(errorReason(err as NodeJS.ErrnoException), lost);
      this.#writeFailed(err as NodeJS.ErrnoException, f.partPath);
      return false;
    }
  }

  /** Closes the current file; returns the packets it holds. After a write error its index is rebuilt from what reached the disk. */
  #closeFile(afterWriteError = false): number {
    const f = this.#file!;
    this.#file = undefined;
    if (!afterWriteError) {
      this.#file = f;
      const flushed = this.#flush();
      this.#file = undefined;
      if (!flushed) return 0; // closed by the failed flush
    }
    const finalPath = join(this.#s.dir, f.name);
    try {
      fsyncSync(f.fd);
    } catch {
      // a full disk: what is written stays readable
    }
    closeSync(f.fd);
    const builder = afterWriteError ? indexRecords(f.partPath) : f.index;
    const index = builder.data();
    // The index first: a pcap under its final name always has its index (or is rebuilt at start).
    try {
      builder.save(finalPath);
    } catch (err) {
      this.#log(`index of ${f.name} not saved (${(err as Error).message}); it is rebuilt at the next start`);
    }
    renameSync(f.partPath, finalPath);
    const stored: StoredFile = { seq: f.seq, name: f.name, path: finalPath, indexPath: indexPathOf(finalPath), bytes: f.written, writing: false };
    this.#closed.push({ file: stored, diskBytes: diskBytesOf(stored), firstMs: index.firstMs });
    this.#log(`closed ${f.name}: ${index.packets} packets, ${index.fileBytes || f.written} bytes`);
    return index.packets;
  }

  /** Deletes the oldest closed files while the store is over its max disk space. */
  #enforceMaxDisk(): void {
    const current = this.#file ? this.#file.written + this.#buffered : 0;
    let total = this.#closed.reduce((n, c) => n + c.diskBytes, 0) + current;
    while (total > this.#s.maxDiskBytes && this.#closed.length > 0) {
      const oldest = this.#closed.shift()!;
      total -= removeFile(oldest.file);
      this.#stats.deletedFiles++;
      this.#log(`deleted ${oldest.file.name} (max disk space ${this.#s.maxDiskBytes} bytes reached)`);
    }
  }

  #writeFailed(err: NodeJS.ErrnoException, path: string): void {
    const st = this.#stats;
    if (err.code === 'ENOSPC' || err.code === 'EDQUOT') {
      if (st.state !== 'paused') this.#log(`disk full writing ${path}: recording paused until space returns`);
      st.state = 'paused';
      st.error = `disk full (${err.code}) writing ${path}: recording paused; capture and flows go on`;
      this.#retryAt = Date.now() + RETRY_MS;
    } else {
      this.#fail(`cannot write ${path}: ${err.message}`);
    }
  }

  #fail(message: string): void {
    this.#stats.state = 'failed';
    this.#stats.error = message;
    this.#log(message);
  }

  #drop(reason: string, n = 1): void {
    if (n <= 0) return;
    this.#stats.dropped[reason] = (this.#stats.dropped[reason] ?? 0) + n;
  }

  #log(line: string): void {
    const log = this.#stats.log;
    log.push(`${new Date().toISOString()} ${line}`);
    if (log.length > LOG_LINES) log.splice(0, log.length - LOG_LINES);
  }
}

/** Bytes free for us on the file system of `dir` (Infinity when it cannot be told: the write itself will). */
function freeBytes(dir: string): number {
  try {
    const fs = statfsSync(dir);
    return fs.bavail * fs.bsize;
  } catch {
    return Infinity;
  }
}

function writeAll(fd: number, b: Uint8Array): void {
  let done = 0;
  while (done < b.length) done += writeSync(fd, b, done, b.length - done);
}

function errorReason(err: NodeJS.ErrnoException): string {
  return err.code === 'ENOSPC' || err.code === 'EDQUOT' ? 'disk-full' : 'write-error';
}

/** Epoch ms of a file name's UTC start (`…-20261201T211500Z.pcap`). */
function startOfName(name: string): number {
  const m = /-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(name);
  return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) : 0;
}
