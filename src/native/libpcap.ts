// libpcap itself, through koffi: live devices and capture files (pcap and pcapng),
// BPF filters (libpcap is the authority on their syntax) and kernel drop counts.
//
// Why not `cap` for live capture: it fixes the snapshot length at 65535 and turns on
// immediate mode, so libpcap falls back to TPACKET_V2 with one ~128 KiB slot per
// packet: a 16 MiB kernel ring holds 128 packets, and any pause of the process
// (a GC, a busy moment) loses packets. It also calls into JavaScript once per packet,
// gives no timestamps, no wire length and no drop counts, and crashes in a worker
// thread. Here the snapshot is only as long as the headers we decode, the ring is
// TPACKET_V3 (variable-size slots: tens of thousands of packets), and packets are
// read in batches (capture-records.ts).
import koffi, { type LibraryHandle } from 'koffi';
import { endianness } from 'node:os';
import { dlopen, dlsym, setsockopt } from './libc.ts';

const SONAMES = ['libpcap.so.0.8', 'libpcap.so.1', 'libpcap.so'];

function loadLibpcap(): { lib: LibraryHandle; soname: string } {
  const problems: string[] = [];
  for (const soname of SONAMES) {
    try {
      return { lib: koffi.load(soname), soname };
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  throw new Error(`libpcap is not installed (${problems.join('; ')})`);
}

const { lib, soname } = loadLibpcap();
const PCAP_ERRBUF_SIZE = 256;
/** struct bpf_program: u_int bf_len; struct bpf_insn *bf_insns (16 bytes on 64-bit). */
const BPF_PROGRAM_SIZE = 16;
const PCAP_NETMASK_UNKNOWN = 0xffffffff;
const PCAP_D_IN = 1;
const PCAP_TSTAMP_PRECISION_NANO = 1;
/** struct pcap_pkthdr: struct timeval (16 bytes), caplen, len: what pcap_offline_filter reads. */
const PKTHDR_SIZE = 24;
const LITTLE_ENDIAN = endianness() === 'LE';

koffi.struct('fb_pcap_stat', { ps_recv: 'uint', ps_drop: 'uint', ps_ifdrop: 'uint' });

const pcap_create = lib.func('void *pcap_create(const char *source, _Out_ uint8_t *errbuf)');
const pcap_set_snaplen = lib.func('int pcap_set_snaplen(void *p, int snaplen)');
const pcap_set_promisc = lib.func('int pcap_set_promisc(void *p, int promisc)');
const pcap_set_timeout = lib.func('int pcap_set_timeout(void *p, int ms)');
const pcap_set_buffer_size = lib.func('int pcap_set_buffer_size(void *p, int bytes)');
const pcap_activate = lib.func('int pcap_activate(void *p)');
const pcap_setdirection = lib.func('int pcap_setdirection(void *p, int d)');
const pcap_fileno = lib.func('int pcap_fileno(void *p)');
const pcap_setnonblock = lib.func('int pcap_setnonblock(void *p, int nonblock, _Out_ uint8_t *errbuf)');
const pcap_open_offline_with_tstamp_precision = lib.func('void *pcap_open_offline_with_tstamp_precision(const char *fname, uint32_t precision, _Out_ uint8_t *errbuf)');
const pcap_open_dead = lib.func('void *pcap_open_dead(int linktype, int snaplen)');
const pcap_offline_filter = lib.func('int pcap_offline_filter(uint8_t *fp, uint8_t *h, uint8_t *pkt)');
const pcap_set_tstamp_precision = lib.func('int pcap_set_tstamp_precision(void *p, int precision)');
const pcap_get_tstamp_precision = lib.func('int pcap_get_tstamp_precision(void *p)');
const pcap_datalink = lib.func('int pcap_datalink(void *p)');
const pcap_snapshot = lib.func('int pcap_snapshot(void *p)');
const pcap_compile = lib.func('int pcap_compile(void *p, _Out_ uint8_t *fp, const char *str, int optimize, uint32_t netmask)');
const pcap_setfilter = lib.func('int pcap_setfilter(void *p, uint8_t *fp)');
const pcap_freecode = lib.func('void pcap_freecode(uint8_t *fp)');
const pcap_geterr = lib.func('const char *pcap_geterr(void *p)');
const pcap_statustostr = lib.func('const char *pcap_statustostr(int error)');
const pcap_stats = lib.func('int pcap_stats(void *p, _Out_ fb_pcap_stat *ps)');
const pcap_close = lib.func('void pcap_close(void *p)');
const pcap_dump_fopen = lib.func('void *pcap_dump_fopen(void *p, void *fp)');
const pcap_dump_close = lib.func('void pcap_dump_close(void *d)');
const pcap_dispatch = lib.func('int pcap_dispatch(void *p, int cnt, void *callback, void *user)');

const SOL_PACKET = 263;
const PACKET_IGNORE_OUTGOING = 23;
const RTLD_NOW = 2;
const RTLD_NOLOAD = 4;
/**
 * libpcap's own pcap_dump, as the packet callback of pcap_dispatch: packets are
 * written to a FILE (ours is memory) without a call into JavaScript per packet.
 */
const pcapDumpCallback: unknown = dlsym(dlopen(soname, RTLD_NOW | RTLD_NOLOAD), 'pcap_dump');

function errbufText(errbuf: Buffer): string {
  const end = errbuf.indexOf(0);
  return errbuf.toString('latin1', 0, end < 0 ? errbuf.length : end);
}

export interface LiveOptions {
  /** Bytes kept of each packet: enough for the headers decoded (default 256). */
  snaplen: number;
  /** Kernel ring size in bytes. */
  bufferBytes: number;
  promiscuous: boolean;
  /** Longest a packet waits in a partly filled ring block before it is readable. */
  timeoutMs: number;
  /**
   * Only packets received (a loopback device: every packet is sent and received
   * there, and libpcap would otherwise discard the sent copy only after it took
   * ring space and counted in the drops).
   */
  inboundOnly: boolean;
}

/** An open libpcap handle: a live device or a capture file. */
export class Pcap {
  readonly #handle: unknown;
  readonly live: boolean;
  readonly dlt: number;
  /** Largest captured length a packet can have. */
  readonly snaplen: number;
  /** Record timestamps carry nanoseconds (else microseconds); the pcap records written say so in their file magic. */
  readonly nanoseconds: boolean;
  #closed = false;

  private constructor(handle: unknown, live: boolean) {
    this.#handle = handle;
    this.live = live;
    this.dlt = pcap_datalink(handle) as number;
    this.snaplen = pcap_snapshot(handle) as number;
    this.nanoseconds = (pcap_get_tstamp_precision(handle) as number) === PCAP_TSTAMP_PRECISION_NANO;
  }

  /** Opens a device for non-blocking capture. Throws libpcap's reason (no such device, no permission...). */
  static live(device: string, o: LiveOptions): Pcap {
    const errbuf = Buffer.alloc(PCAP_ERRBUF_SIZE);
    const handle = pcap_create(device, errbuf);
    if (!handle) throw new Error(errbufText(errbuf));
    pcap_set_snaplen(handle, o.snaplen);
    pcap_set_promisc(handle, o.promiscuous ? 1 : 0);
    pcap_set_timeout(handle, o.timeoutMs);
    pcap_set_buffer_size(handle, o.bufferBytes);
    // Nanosecond timestamps where the device offers them (recordings are nanosecond pcap); else microseconds.
    pcap_set_tstamp_precision(handle, PCAP_TSTAMP_PRECISION_NANO);
    const rc = pcap_activate(handle) as number;
    if (rc < 0) {
      const detail = pcap_geterr(handle) as string;
      const status = pcap_statustostr(rc) as string;
      pcap_close(handle);
      throw new Error(detail && !detail.includes(status) ? `${status} (${detail})` : detail || status);
    }
    if (o.inboundOnly) {
      // libpcap filters the direction in user space; the kernel (4.20+) can skip the
      // sent copies before they take ring space. Older kernels refuse: no harm.
      pcap_setdirection(handle, PCAP_D_IN);
      setsockopt(pcap_fileno(handle), SOL_PACKET, PACKET_IGNORE_OUTGOING, [1], 4);
    }
    if ((pcap_setnonblock(handle, 1, errbuf) as number) < 0) {
      pcap_close(handle);
      throw new Error(errbufText(errbuf));
    }
    return new Pcap(handle, true);
  }

  /** Opens a pcap or pcapng file. Throws libpcap's reason. */
  static file(path: string): Pcap {
    const errbuf = Buffer.alloc(PCAP_ERRBUF_SIZE);
    const handle = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (!handle) throw new Error(errbufText(errbuf));
    return new Pcap(handle, false);
  }

  /** Keeps only packets matching `filter` (libpcap syntax). Throws a clear Error when it does not compile. */
  setFilter(filter: string): void {
    const program = Buffer.alloc(BPF_PROGRAM_SIZE);
    if ((pcap_compile(this.#handle, program, filter, 1, PCAP_NETMASK_UNKNOWN) as number) !== 0) {
      throw new Error(`BPF filter ${JSON.stringify(filter)}: ${pcap_geterr(this.#handle) as string}`);
    }
    const rc = pcap_setfilter(this.#handle, program) as number;
    pcap_freecode(program);
    if (rc !== 0) throw new Error(`BPF filter ${JSON.stringify(filter)}: ${pcap_geterr(this.#handle) as string}`);
  }

  /** A pcap writer onto `file` (a C FILE *): what dispatchTo writes with. */
  dumper(file: unknown): unknown {
    const dumper = pcap_dump_fopen(this.#handle, file);
    if (!dumper) throw new Error(pcap_geterr(this.#handle) as string);
    return dumper;
  }

  /**
   * Writes up to `max` waiting packets as pcap records through `dumper`. Returns how
   * many: 0 when none is waiting (live) or at the end of a file. Throws on a read error.
   */
  dispatchTo(dumper: unknown, max: number): number {
    const n = pcap_dispatch(this.#handle, max, pcapDumpCallback, dumper) as number;
    if (n < 0) throw new Error(pcap_geterr(this.#handle) as string);
    return n;
  }

  /** Packets the kernel dropped since the device was opened (ring full); undefined for files. */
  kernelDrops(): number | undefined {
    if (!this.live || this.#closed) return undefined;
    const stat = { ps_recv: 0, ps_drop: 0, ps_ifdrop: 0 };
    return (pcap_stats(this.#handle, stat) as number) === 0 ? stat.ps_drop : undefined;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    pcap_close(this.#handle);
  }
}

/**
 * A BPF program compiled by libpcap for a link type, matched against stored packets
 * with pcap_offline_filter (the recording's reader). libpcap is the authority on the
 * syntax: an invalid filter throws libpcap's own message.
 */
export class BpfProgram {
  readonly #program = Buffer.alloc(BPF_PROGRAM_SIZE);
  readonly #headerBytes = new Uint8Array(PKTHDR_SIZE);
  readonly #header = new DataView(this.#headerBytes.buffer);
  #freed = false;

  constructor(filter: string, dlt: number, snaplen = 262144) {
    const dead = pcap_open_dead(dlt, snaplen);
    try {
      if ((pcap_compile(dead, this.#program, filter, 1, PCAP_NETMASK_UNKNOWN) as number) !== 0) {
        throw new Error(`BPF filter ${JSON.stringify(filter)}: ${pcap_geterr(dead) as string}`);
      }
    } finally {
      pcap_close(dead);
    }
  }

  /** True when the packet (its captured bytes and wire length) passes the filter. */
  matches(packet: Uint8Array, wireLength: number): boolean {
    this.#header.setUint32(16, packet.length, LITTLE_ENDIAN);
    this.#header.setUint32(20, wireLength, LITTLE_ENDIAN);
    return (pcap_offline_filter(this.#program, this.#headerBytes, packet) as number) !== 0;
  }

  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    pcap_freecode(this.#program);
  }
}

/** Closes a dumper and the FILE under it. */
export function closeDumper(dumper: unknown): void {
  pcap_dump_close(dumper);
}
