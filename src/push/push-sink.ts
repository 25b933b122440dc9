// One push target inside the capture process: each whole packet of the interface →
// the target's BPF (libpcap's own) → a splitter (time windows aligned to multiples of
// the split, or files closed before they pass a size) → pcap files written under a
// temporary name and renamed when complete. In rclone mode the files go to a bounded
// local spool the uploader empties; while the spool is full, packets are dropped and
// counted, never silently lost.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import type { PushSinkConfig, PushTargetStats } from '../model/push.ts';
import { BpfProgram } from '../native/libpcap.ts';
import { PcapFile } from '../recording/pcap-file.ts';
import { nativeRecordTimeNs, RECORD_HEADER_BYTES } from '../recording/pcap-format.ts';
import type { PacketSink } from '../recording/sink.ts';
import { makeDirs } from '../runtime/make-dirs.ts';
import { PushLog } from './push-log.ts';
import { splitFileName } from './target.ts';

/** A time split's file stays open this long past its window for packets the kernel hands over late. */
const LATE_MS = 1000;
/** A progress line this often while packets flow. */
const PROGRESS_MS = 10_000;
const SPOOL_CHECK_MS = 500;
/** An offline push waiting for the uploader checks the spool this often. */
const SPOOL_WAIT_MS = 200;

export interface PushSinkOptions {
  /**
   * Rclone mode, offline push (in a thread of its own): when the spool is full, wait
   * for the uploader to make room instead of dropping (a stored range is not lost for
   * want of spool). Blocks the thread: never set it where the uploader runs.
   */
  waitForSpool?: boolean;
  /** Told of each split completed: its final path, packets and bytes. */
  onClosed?: (path: string, packets: number, bytes: number) => void;
}

interface OpenSplit {
  file: PcapFile;
  /** Time split: the window [startNs, endNs); byte split: the first and last packet. */
  startNs: bigint;
  endNs: bigint;
  /** The window's end in ms (time splits), for the per-packet check. */
  endMs: number;
}

/** Bytes of the closed splits waiting in a spool directory. */
export function spoolBytes(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  try {
    for (const name of readdirSync(dir)) {
      if (!name.endsWith('.pcap')) continue;
      try {
        bytes += statSync(join(dir, name)).size;
        files++;
      } catch {
        // uploaded meanwhile
      }
    }
  } catch {
    // no spool yet
  }
  return { files, bytes };
}

export class PushSink implements PacketSink {
  readonly #c: PushSinkConfig;
  readonly #dlt: number;
  readonly #snaplen: number;
  readonly #nanoseconds: boolean;
  readonly #filter: BpfProgram | undefined;
  readonly #log: PushLog;
  #split: OpenSplit | undefined;
  #seq = 0;
  readonly #stats: PushTargetStats;
  #spoolFull = false;
  #spoolCheckedAt = 0;
  #progressAt = 0;
  #progressBytes = 0;
  #totalBytes = 0;
  readonly #o: PushSinkOptions;

  /** Throws when the BPF does not compile or the directory cannot be made (the target then reports why). */
  constructor(config: PushSinkConfig, dlt: number, snaplen: number, nanoseconds = true, options: PushSinkOptions = {}) {
    this.#c = config;
    this.#o = options;
    this.#dlt = dlt;
    this.#snaplen = snaplen;
    this.#nanoseconds = nanoseconds;
    this.#stats = { desc: config.desc, state: 'running', files: 0, bytes: 0, packets: 0, filteredOut: 0, dropped: {} };
    this.#log = new PushLog(config.logPath);
    makeDirs(config.dir);
    this.#filter = config.filterBpf ? new BpfProgram(config.filterBpf, dlt) : undefined;
    this.#log.line(`push ${config.desc}: ${config.mode.toUpperCase()} ${join(config.dir, config.prefix)}* ${config.split.kind === 'time' ? `--split-time ${config.split.ns}` : `--split-byte ${config.split.bytes}`} ${config.fileName}${config.filterBpf ? ` filter "${config.filterBpf}"` : ''}`);
  }

  get desc(): string {
    return this.#c.desc;
  }

  add(memory: Uint8Array, at: number, caplen: number, wireLength: number, tsMs: number): void {
    const st = this.#stats;
    if (this.#filter && !this.#filter.matches(memory.subarray(at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + caplen), wireLength)) {
      st.filteredOut++;
      return;
    }
    const split = this.#c.split;
    let open = this.#split;
    if (open) {
      const past = split.kind === 'time'
        ? tsMs >= open.endMs - 0.001 && nativeRecordTimeNs(memory, at, this.#nanoseconds) >= open.endNs
        : open.file.bytes + open.file.recordBytes(caplen) > split.bytes;
      if (past) {
        this.#close();
        open = undefined;
      }
    }
    if (!open) {
      open = this.#open(memory, at);
      if (!open) return;
    }
    try {
      open.file.append(memory, at, caplen, this.#nanoseconds);
      if (split.kind === 'byte') open.endNs = nativeRecordTimeNs(memory, at, this.#nanoseconds);
    } catch (err) {
      this.#drop('write-error');
      this.#log.line(`write failed: ${(err as Error).message}; the split is closed at its last whole packet`);
      this.#close();
    }
  }

  tick(nowMs = Date.now()): void {
    const open = this.#split;
    if (open && this.#c.split.kind === 'time' && nowMs > open.endMs + LATE_MS) this.#close();
    else if (open) {
      try {
        open.file.flush();
      } catch (err) {
        this.#log.line(`write failed: ${(err as Error).message}`);
        this.#close();
      }
    }
    const total = this.#totalBytes + (this.#split?.file.bytes ?? 0);
    if (this.#split && nowMs - this.#progressAt >= PROGRESS_MS && total !== this.#progressBytes) this.#progress(nowMs);
  }

  close(): void {
    if (this.#split) this.#close();
    this.#stats.state = 'stopped';
    this.#filter?.free();
  }

  stats(): PushTargetStats {
    const st = { ...this.#stats, dropped: { ...this.#stats.dropped } };
    if (this.#split) st.currentFile = this.#split.file.partPath;
    return st;
  }

  #open(memory: Uint8Array, at: number): OpenSplit | undefined {
    if (this.#c.mode === 'rclone' && this.#o.waitForSpool) this.#waitForSpool();
    else if (this.#c.mode === 'rclone' && this.#spoolIsFull()) {
      this.#drop('spool-full');
      return undefined;
    }
    const tsNs = nativeRecordTimeNs(memory, at, this.#nanoseconds);
    let startNs = tsNs;
    let endNs = tsNs;
    if (this.#c.split.kind === 'time') {
      const span = BigInt(this.#c.split.ns);
      startNs = (tsNs / span) * span;
      endNs = startNs + span;
    }
    // pid and thread: offline pushes run in threads of the collector's own process.
    const part = join(this.#c.dir, `.${this.#c.desc}-${process.pid}-${threadId}-${++this.#seq}.pcap.part`);
    let file: PcapFile;
    try {
      file = new PcapFile(part, this.#dlt, this.#snaplen);
    } catch (err) {
      this.#drop('write-error');
      this.#stats.error = `cannot write ${part}: ${(err as Error).message}`;
      return undefined;
    }
    delete this.#stats.error;
    this.#split = { file, startNs, endNs, endMs: Number(endNs / 1_000_000n) };
    this.#progress(Date.now(), 'New Split');
    return this.#split;
  }

  #finalPath(s: OpenSplit): string {
    return join(this.#c.dir, this.#c.prefix + splitFileName(this.#c.fileName, s.startNs, s.endNs));
  }

  #close(): void {
    const s = this.#split!;
    this.#split = undefined;
    let path: string;
    try {
      path = s.file.close(this.#finalPath(s));
    } catch (err) {
      path = (err as { closedAs?: string }).closedAs ?? s.file.partPath;
      this.#log.line(`write failed closing ${path}: ${(err as Error).message}`);
    }
    this.#stats.files++;
    this.#stats.bytes += s.file.bytes;
    this.#stats.packets += s.file.packets;
    this.#totalBytes += s.file.bytes;
    this.#log.line(`${path} : closed, ${s.file.packets} packets, ${s.file.bytes} bytes`);
    this.#spoolCheckedAt = 0;
    this.#o.onClosed?.(path, s.file.packets, s.file.bytes);
  }

  #progress(nowMs: number, note?: string): void {
    const total = this.#totalBytes + (this.#split?.file.bytes ?? 0);
    const seconds = (nowMs - this.#progressAt) / 1000;
    const gbps = this.#progressAt && seconds > 0 ? ((total - this.#progressBytes) * 8) / 1e9 / seconds : 0;
    this.#progressAt = nowMs;
    this.#progressBytes = total;
    const s = this.#split;
    const shown = s ? (this.#c.split.kind === 'time' ? this.#finalPath(s) : s.file.partPath) : '';
    this.#log.progress(shown, total, gbps, note, nowMs);
  }

  #spoolIsFull(): boolean {
    const now = Date.now();
    if (now - this.#spoolCheckedAt >= SPOOL_CHECK_MS) {
      this.#spoolCheckedAt = now;
      this.#spoolFull = spoolBytes(this.#c.dir).bytes >= this.#c.spoolBytes;
    }
    return this.#spoolFull;
  }

  #waitForSpool(): void {
    const cell = new Int32Array(new SharedArrayBuffer(4));
    let logged = false;
    for (;;) {
      this.#spoolCheckedAt = 0;
      if (!this.#spoolIsFull()) return;
      if (!logged) {
        logged = true;
        this.#log.line(`spool ${this.#c.dir} is full (${this.#c.spoolBytes} bytes): waiting for the uploader`);
      }
      Atomics.wait(cell, 0, 0, SPOOL_WAIT_MS);
    }
  }

  #drop(reason: string): void {
    this.#stats.dropped[reason] = (this.#stats.dropped[reason] ?? 0) + 1;
  }
}
