// An on-demand capture inside the capture process: each whole packet of the interface
// → the capture's BPF (libpcap's own) → pieces of at most pieceBytes, written under a
// temporary name and renamed `<base>.pcapN` when complete. The pieces never take more
// than maxPieces × pieceBytes: when too little of that is left for the next piece, the
// oldest pieces are deleted first, so the newest traffic is kept, as tcpdump -C -W does.
// The bound is in bytes, not pieces: a piece a capture restart completed early keeps its
// traffic, and the next piece is as large as what is left (a single-piece capture under
// 10 MB no longer loses its first piece when its capture process is restarted).
import { readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { OnDemandPiece, OnDemandSinkConfig, OnDemandSinkStats } from '../model/ondemand.ts';
import { BpfProgram } from '../native/libpcap.ts';
import { PcapFile } from '../recording/pcap-file.ts';
import { RECORD_HEADER_BYTES } from '../recording/pcap-format.ts';
import type { PacketSink } from '../recording/sink.ts';
import { makeDirs } from '../runtime/make-dirs.ts';
import { partName, pieceNumber } from './piece-names.ts';
import { cutToWholeRecords } from './whole-records.ts';

export class OnDemandSink implements PacketSink {
  readonly #c: OnDemandSinkConfig;
  readonly #dlt: number;
  readonly #snaplen: number;
  readonly #nanoseconds: boolean;
  readonly #filter: BpfProgram | undefined;
  #file: PcapFile | undefined;
  /** The size the piece being written may reach: pieceBytes, or what the bound leaves. */
  #fileLimit = 0;
  #fileName = '';
  #seq = 0;
  readonly #stats: OnDemandSinkStats;

  /** Throws when the BPF does not compile for this link type or the directory cannot be made. */
  constructor(config: OnDemandSinkConfig, dlt: number, snaplen: number, nanoseconds = true) {
    this.#c = config;
    this.#dlt = dlt;
    this.#snaplen = snaplen;
    this.#nanoseconds = nanoseconds;
    this.#stats = { runId: config.runId, state: 'running', pieces: [], packets: 0, filteredOut: 0, overwritten: 0, dropped: {} };
    makeDirs(config.dir);
    this.#filter = config.filter ? new BpfProgram(config.filter, dlt) : undefined;
    this.#resume();
  }

  /**
   * A capture process started again (it was killed, or its device came back) goes on with
   * the run's pieces: the one it was writing is cut at its last whole record and completed,
   * and numbering continues after the last, so no piece is overwritten and the bound holds.
   */
  #resume(): void {
    const prefix = `${this.#c.baseName}.pcap`;
    const pieces: OnDemandPiece[] = [];
    for (const file of readdirSync(this.#c.dir)) {
      const name = file.startsWith(`.${prefix}`) && file.endsWith('.part') ? file.slice(1, -'.part'.length) : file;
      if (!name.startsWith(prefix) || !/^\d+$/.test(name.slice(prefix.length))) continue;
      const path = join(this.#c.dir, file);
      if (name !== file) {
        if (cutToWholeRecords(path) === 0) {
          rmSync(path, { force: true });
          continue;
        }
        renameSync(path, join(this.#c.dir, name));
      }
      pieces.push({ name, bytes: statSync(join(this.#c.dir, name)).size });
    }
    pieces.sort((a, b) => pieceNumber(a.name) - pieceNumber(b.name));
    this.#stats.pieces = pieces;
    if (pieces.length) this.#seq = pieceNumber(pieces[pieces.length - 1].name) + 1;
  }

  add(memory: Uint8Array, at: number, caplen: number, wireLength: number): void {
    const st = this.#stats;
    if (st.state !== 'running') return;
    if (this.#filter && !this.#filter.matches(memory.subarray(at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + caplen), wireLength)) {
      st.filteredOut++;
      return;
    }
    let file = this.#file;
    // A piece holds at least one packet, and is closed before it would pass its size.
    if (file && file.packets > 0 && file.bytes + file.recordBytes(caplen) > this.#fileLimit) {
      this.#closePiece();
      file = undefined;
    }
    file ??= this.#openPiece();
    if (!file) return;
    try {
      file.append(memory, at, caplen, this.#nanoseconds);
      st.packets++;
    } catch (err) {
      this.#drop('write-error');
      st.error = `writing ${file.partPath}: ${(err as Error).message}`;
      this.#closePiece();
    }
  }

  tick(): void {
    const file = this.#file;
    if (!file) return;
    try {
      file.flush();
    } catch (err) {
      this.#stats.error = `writing ${file.partPath}: ${(err as Error).message}`;
      this.#closePiece();
    }
  }

  close(): void {
    if (this.#file) this.#closePiece();
    if (this.#stats.state === 'running') this.#stats.state = 'closed';
    this.#filter?.free();
  }

  stats(): OnDemandSinkStats {
    const st: OnDemandSinkStats = { ...this.#stats, pieces: this.#stats.pieces.map((p) => ({ ...p })), dropped: { ...this.#stats.dropped } };
    if (this.#file) st.current = { name: this.#fileName, bytes: this.#file.bytes };
    return st;
  }

  #openPiece(): PcapFile | undefined {
    const pieces = this.#stats.pieces;
    const { pieceBytes, maxPieces } = this.#c;
    // Room for the new piece: the oldest ones go first until a tenth of a piece at least
    // is left (full pieces end within one packet of pieceBytes, so after a full piece the
    // oldest goes, as with a count).
    let room = maxPieces * pieceBytes - pieces.reduce((sum, p) => sum + p.bytes, 0);
    while (pieces.length > 0 && room < pieceBytes / 10) {
      const oldest = pieces.shift()!;
      rmSync(join(this.#c.dir, oldest.name), { force: true });
      this.#stats.overwritten++;
      room += oldest.bytes;
    }
    this.#fileLimit = Math.min(pieceBytes, room);
    const name = `${this.#c.baseName}.pcap${this.#seq}`;
    const part = join(this.#c.dir, partName(name));
    try {
      this.#file = new PcapFile(part, this.#dlt, this.#snaplen);
    } catch (err) {
      this.#drop('write-error');
      this.#stats.error = `cannot write ${part}: ${(err as Error).message}`;
      return undefined;
    }
    this.#seq++;
    this.#fileName = name;
    return this.#file;
  }

  #closePiece(): void {
    const file = this.#file!;
    this.#file = undefined;
    const piece: OnDemandPiece = { name: this.#fileName, bytes: file.bytes };
    try {
      file.close(join(this.#c.dir, this.#fileName));
    } catch (err) {
      piece.bytes = file.bytes;
      this.#stats.error = `completing ${this.#fileName}: ${(err as Error).message}`;
    }
    this.#stats.pieces.push(piece);
  }

  #drop(reason: string): void {
    this.#stats.dropped[reason] = (this.#stats.dropped[reason] ?? 0) + 1;
  }
}
