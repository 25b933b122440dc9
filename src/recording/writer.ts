// The continuous recording of one packet interface: whole packets, as the capture
// reads them, appended to nanosecond pcap files under a temporary name, rotated by
// size and duration, indexed on the fly, and renamed (index saved beside) when
// closed. The oldest files go when the store passes its max disk space. A full disk
// pauses recording (capture and flows go on), counts what could not be written, and
// recording resumes by itself when space returns.
//
// It runs in the capture process, which already holds every packet in pcap record
// memory (capture-records.ts): writing one is a copy, never a call per packet.
import { mkdirSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import type { RecordingSettings, RecordingState, RecordingStats } from '../model/recording.ts';
import { FileIndexBuilder, type SlotKeys } from './file-index.ts';
import type { PacketSink } from './sink.ts';
import { PcapFile, PCAP_BUFFER_BYTES } from './pcap-file.ts';
import { indexRecords, recoverStore } from './recovery.ts';
import { diskBytesOf, fileName, indexPathOf, listFiles, partName, removeFile, type StoredFile } from './store.ts';

/** How often a paused recording tries the disk again. */
const RETRY_MS = 1000;
/** Last log lines kept for the status page. */
const LOG_LINES = 50;
/** Smallest file a tiny store is split into. */
const MIN_FILE_BYTES = 64 * 1024;

interface OpenFile {
  seq: number;
  name: string;
  pcap: PcapFile;
  startMs: number;
  index: FileIndexBuilder;
}

export class RecordingWriter implements PacketSink {
  readonly #s: RecordingSettings;
  readonly #dlt: number;
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
    let f = this.#file;
    if (f !== undefined && f.pcap.bytes + f.pcap.recordBytes(caplen) > this.#maxFileBytes && f.index.packets > 0) {
      this.#closeFile();
      f = undefined;
    }
    // A write refused while closing pauses the recording: no new file then (#closeFile changed the state).
    const state = this.#stats.state as RecordingState;
    if (f === undefined && state === 'running') f = this.#openFile(tsMs);
    if (f === undefined) {
      this.#drop((this.#stats.state as RecordingState) === 'paused' ? 'disk-full' : 'failed');
      return;
    }
    const offset = f.pcap.bytes;
    try {
      f.pcap.append(memory, at, caplen, this.#nanoseconds);
    } catch (err) {
      this.#drop(errorReason(err as NodeJS.ErrnoException));
      this.#closeFile(err as NodeJS.ErrnoException);
      return;
    }
    const size = f.pcap.bytes - offset;
    f.index.add(offset, size, tsMs, wireLength, slot, keys);
    st.packets++;
    st.bytes += size;
    st.newest = tsMs;
  }

  /** Writes what is buffered, rotates a file past its duration, retries a paused recording. */
  tick(nowMs = Date.now()): void {
    const st = this.#stats;
    // Space has returned only when there is room for a whole write: the failed write's own bytes, cut off
    // when it paused, are less than that, so a disk that is still full does not flap between paused and running.
    if (st.state === 'paused' && nowMs >= this.#retryAt && freeBytes(this.#s.dir) >= PCAP_BUFFER_BYTES) {
      this.#retryAt = nowMs + RETRY_MS;
      // Resume by opening a new file; the packets that arrive from now on go there.
      st.state = 'running';
      delete st.error;
      const f = this.#openFile(nowMs);
      if (f) this.#log(`disk space is back: recording resumed in ${f.name}`);
    }
    const f = this.#file;
    if (st.state !== 'running' || f === undefined) return;
    try {
      f.pcap.flush();
    } catch (err) {
      this.#closeFile(err as NodeJS.ErrnoException);
      return;
    }
    if (nowMs - f.startMs >= this.#s.maxFileSeconds * 1000) this.#closeFile();
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
    st.files = this.#closed.length + (this.#file ? 1 : 0);
    st.diskBytes = this.#closedBytes() + (this.#file?.pcap.bytes ?? 0);
    const oldest = this.#closed[0];
    st.oldest = oldest ? oldest.firstMs || startOfName(oldest.file.name) : this.#file?.startMs;
    return { ...st, dropped: { ...st.dropped }, log: [...st.log] };
  }

  #closedBytes(): number {
    return this.#closed.reduce((n, c) => n + c.diskBytes, 0);
  }

  #openFile(tsMs: number): OpenFile | undefined {
    const seq = this.#nextSeq;
    const name = fileName(seq, tsMs);
    const partPath = join(this.#s.dir, partName(name));
    let pcap: PcapFile;
    try {
      // Not even the header fits: PcapFile leaves no empty file behind (a restart would set it aside as damaged).
      pcap = new PcapFile(partPath, this.#dlt, this.#s.snaplen);
    } catch (err) {
      this.#writeFailed(err as NodeJS.ErrnoException, partPath);
      return undefined;
    }
    this.#nextSeq++;
    this.#file = { seq, name, pcap, startMs: tsMs, index: new FileIndexBuilder(this.#dlt, this.#s.snaplen) };
    return this.#file;
  }

  /**
   * Closes the current file, index saved first, and returns the packets it holds. A
   * write the disk refused (`failure`, or the last flush's) leaves the file cut at its
   * last whole record: its index is rebuilt from what reached the disk, the packets
   * lost are counted, and the recording pauses (or fails).
   */
  #closeFile(failure?: NodeJS.ErrnoException): number {
    const f = this.#file!;
    this.#file = undefined;
    if (!failure) {
      try {
        f.pcap.flush();
      } catch (err) {
        failure = err as NodeJS.ErrnoException;
      }
    }
    const finalPath = join(this.#s.dir, f.name);
    const builder = failure ? indexRecords(f.pcap.partPath) : f.index;
    const index = builder.data();
    // The index first: a pcap under its final name always has its index (or is rebuilt at start).
    try {
      builder.save(finalPath);
    } catch (err) {
      this.#log(`index of ${f.name} not saved (${(err as Error).message}); it is rebuilt at the next start`);
    }
    const bytes = f.pcap.bytes;
    try {
      f.pcap.close(finalPath);
    } catch {
      // a full disk at fsync: what is written stays readable, under its final name
    }
    const stored: StoredFile = { seq: f.seq, name: f.name, path: finalPath, indexPath: indexPathOf(finalPath), bytes, writing: false };
    this.#closed.push({ file: stored, diskBytes: diskBytesOf(stored), firstMs: index.firstMs });
    this.#log(`closed ${f.name}: ${index.packets} packets, ${bytes} bytes`);
    if (failure) {
      const lost = f.index.packets - index.packets;
      this.#stats.packets -= lost;
      this.#drop(errorReason(failure), lost);
      this.#writeFailed(failure, f.pcap.partPath);
    }
    return index.packets;
  }

  /** Deletes the oldest closed files while the store is over its max disk space. */
  #enforceMaxDisk(): void {
    let total = this.#closedBytes() + (this.#file?.pcap.bytes ?? 0);
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

function errorReason(err: NodeJS.ErrnoException): string {
  return err.code === 'ENOSPC' || err.code === 'EDQUOT' ? 'disk-full' : 'write-error';
}

/** Epoch ms of a file name's UTC start (`…-20261201T211500Z.pcap`). */
function startOfName(name: string): number {
  const m = /-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(name);
  return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) : 0;
}
