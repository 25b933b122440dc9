// Reading capture files through libpcap itself (via koffi): it reads pcap and
// pcapng alike and is the authority on BPF filter syntax.
import koffi from 'koffi';

const lib = koffi.load('libpcap.so.0.8');
const PCAP_ERRBUF_SIZE = 256;
/** struct bpf_program: u_int bf_len; struct bpf_insn *bf_insns (x86-64: 16 bytes). */
const BPF_PROGRAM_SIZE = 16;
const PCAP_NETMASK_UNKNOWN = 0xffffffff;

const PktHdr = koffi.struct('fb_pcap_pkthdr', { tv_sec: 'long', tv_usec: 'long', caplen: 'uint32_t', len: 'uint32_t' });

const pcap_open_offline = lib.func('void *pcap_open_offline(const char *fname, _Out_ uint8_t *errbuf)');
const pcap_datalink = lib.func('int pcap_datalink(void *p)');
const pcap_compile = lib.func('int pcap_compile(void *p, _Out_ uint8_t *fp, const char *str, int optimize, uint32_t netmask)');
const pcap_setfilter = lib.func('int pcap_setfilter(void *p, uint8_t *fp)');
const pcap_freecode = lib.func('void pcap_freecode(uint8_t *fp)');
const pcap_next_ex = lib.func('int pcap_next_ex(void *p, _Out_ void **hdr, _Out_ void **data)');
const pcap_geterr = lib.func('const char *pcap_geterr(void *p)');
const pcap_close = lib.func('void pcap_close(void *p)');

export interface FilePacket {
  data: Uint8Array;
  caplen: number;
  length: number;
  /** Epoch ms from the file. */
  timestamp: number;
}

export class PcapFile {
  readonly #handle: unknown;
  readonly dlt: number;
  #closed = false;

  /** Opens `path`, applying `filter` (libpcap syntax). Throws a clear Error when either fails. */
  constructor(path: string, filter?: string) {
    const errbuf = Buffer.alloc(PCAP_ERRBUF_SIZE);
    this.#handle = pcap_open_offline(path, errbuf);
    if (!this.#handle) throw new Error(errbuf.toString('latin1', 0, errbuf.indexOf(0)));
    this.dlt = pcap_datalink(this.#handle) as number;
    if (filter) {
      const program = Buffer.alloc(BPF_PROGRAM_SIZE);
      if (pcap_compile(this.#handle, program, filter, 1, PCAP_NETMASK_UNKNOWN) !== 0) {
        const why = pcap_geterr(this.#handle) as string;
        this.close();
        throw new Error(`BPF filter ${JSON.stringify(filter)}: ${why}`);
      }
      const rc = pcap_setfilter(this.#handle, program) as number;
      pcap_freecode(program);
      if (rc !== 0) {
        const why = pcap_geterr(this.#handle) as string;
        this.close();
        throw new Error(`BPF filter ${JSON.stringify(filter)}: ${why}`);
      }
    }
  }

  /** The next packet, or undefined at the end of the file. Throws on a read error. */
  next(): FilePacket | undefined {
    const hdr: unknown[] = [null];
    const data: unknown[] = [null];
    const rc = pcap_next_ex(this.#handle, hdr, data) as number;
    if (rc === -2) return undefined;
    if (rc === -1) throw new Error(pcap_geterr(this.#handle) as string);
    const h = koffi.decode(hdr[0], PktHdr) as { tv_sec: number; tv_usec: number; caplen: number; len: number };
    const bytes = new Uint8Array(koffi.view(data[0], h.caplen) as ArrayBuffer).slice();
    return { data: bytes, caplen: h.caplen, length: h.len, timestamp: h.tv_sec * 1000 + h.tv_usec / 1000 };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    pcap_close(this.#handle);
  }
}
