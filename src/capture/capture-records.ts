// Packets read in batches: libpcap writes the waiting packets as pcap records into
// memory we own (its own pcap_dump onto a C memory stream, one call for thousands
// of packets, no JavaScript per packet), then JavaScript walks the records:
// timestamp, captured length, wire length and the bytes, in place.
import koffi from 'koffi';
import { endianness } from 'node:os';
import { fclose, fflush, fmemopen, free, ftell, malloc, rewind } from '../native/libc.ts';
import { closeDumper, type Pcap } from '../native/libpcap.ts';

/** struct pcap_sf_pkthdr: seconds, micro- or nanoseconds (32 bits each), captured length, wire length; host byte order. */
const RECORD_HEADER = 16;
const LITTLE_ENDIAN = endianness() === 'LE';

export class PacketRecords {
  /** The record memory; a record's bytes are at `offset`, `caplen` long. */
  readonly bytes: Uint8Array;
  /** Packets one read() takes at most: as many as surely fit. */
  readonly maxPerRead: number;
  // The current record, after next():
  /** Epoch ms, from the kernel (live) or the file. */
  timestamp = 0;
  caplen = 0;
  /** Length on the wire. */
  length = 0;
  offset = 0;
  /** Where the current record (its 16-byte header, then the bytes) starts: a recording copies it as it is. */
  recordOffset = 0;
  /** Why the last read() stopped short, if it did. */
  failure: string | undefined;

  readonly #pcap: Pcap;
  readonly #memory: unknown;
  readonly #file: unknown;
  readonly #dumper: unknown;
  readonly #view: DataView;
  /** Record fractions per millisecond: 1e6 for nanosecond records, 1e3 for microsecond ones. */
  readonly #fractionsPerMs: number;
  #end = 0;
  #cursor = 0;
  #closed = false;

  constructor(pcap: Pcap, capacityBytes: number) {
    this.#pcap = pcap;
    this.#fractionsPerMs = pcap.nanoseconds ? 1e6 : 1e3;
    // Native memory, not a Buffer: its lifetime is ours (libc holds the pointer), not the garbage collector's.
    this.#memory = malloc(capacityBytes);
    if (!this.#memory) throw new Error(`cannot allocate ${capacityBytes} bytes for packet records`);
    const memory = koffi.view(this.#memory, capacityBytes);
    this.bytes = new Uint8Array(memory);
    this.#view = new DataView(memory);
    this.#file = fmemopen(this.#memory, capacityBytes, 'w');
    if (!this.#file) {
      free(this.#memory);
      throw new Error('cannot open a memory stream for packet records');
    }
    try {
      this.#dumper = pcap.dumper(this.#file);
    } catch (err) {
      fclose(this.#file);
      free(this.#memory);
      throw err;
    }
    // A record is at most its header and the snapshot length; the last byte is for
    // the NUL a memory stream may write.
    this.maxPerRead = Math.max(1, Math.floor((capacityBytes - 1) / (RECORD_HEADER + Math.max(pcap.snaplen, 1))));
  }

  /**
   * Reads the waiting packets (at most maxPerRead) and moves before the first.
   * Returns how many: 0 when none is waiting (live) or at the end of a file. On a
   * read error (a file cut short, a device gone) the packets read before it are
   * still there to visit, and `failure` says what went wrong.
   */
  read(): number {
    // The dumper's file header, or the records of the previous read, are overwritten.
    rewind(this.#file);
    let n = 0;
    this.failure = undefined;
    try {
      n = this.#pcap.dispatchTo(this.#dumper, this.maxPerRead);
    } catch (err) {
      this.failure = (err as Error).message;
    }
    fflush(this.#file);
    this.#end = Number(ftell(this.#file));
    this.#cursor = 0;
    return n;
  }

  /** Moves to the next record; false when every record read has been visited. */
  next(): boolean {
    const at = this.#cursor;
    if (at + RECORD_HEADER > this.#end) return false;
    const v = this.#view;
    const caplen = v.getUint32(at + 8, LITTLE_ENDIAN);
    if (at + RECORD_HEADER + caplen > this.#end) {
      this.#cursor = this.#end; // cut short (cannot happen while reads are sized to fit): skip it
      return false;
    }
    this.timestamp = v.getUint32(at, LITTLE_ENDIAN) * 1000 + v.getUint32(at + 4, LITTLE_ENDIAN) / this.#fractionsPerMs;
    this.recordOffset = at;
    this.caplen = caplen;
    this.length = v.getUint32(at + 12, LITTLE_ENDIAN);
    this.offset = at + RECORD_HEADER;
    this.#cursor = this.offset + caplen;
    return true;
  }

  /** Timestamp of the record next() would move to, if any (to pace a replay). */
  peekTimestamp(): number | undefined {
    const at = this.#cursor;
    if (at + RECORD_HEADER > this.#end) return undefined;
    return this.#view.getUint32(at, LITTLE_ENDIAN) * 1000 + this.#view.getUint32(at + 4, LITTLE_ENDIAN) / this.#fractionsPerMs;
  }

  /** Frees the memory; `bytes` must not be used afterwards. Close before the Pcap. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#end = 0;
    closeDumper(this.#dumper);
    free(this.#memory);
  }
}
