// Types for the `cap` package (live capture through libpcap), which ships none.
declare module 'cap' {
  import type { EventEmitter } from 'node:events';

  export interface Device {
    name: string;
    description?: string;
    addresses: { addr: string; netmask?: string; broadaddr?: string }[];
    flags?: string;
  }

  export class Cap extends EventEmitter {
    /** Starts capturing; returns the link type name (ETHERNET, LINKTYPE_LINUX_SLL, NULL, RAW, ...). */
    open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
    close(): void;
    setMinBytes?(n: number): void;
    static deviceList(): Device[];
    static findDevice(ip?: string): string | undefined;
    on(event: 'packet', listener: (nbytes: number, truncated: boolean) => void): this;
  }

  const cap: { Cap: typeof Cap };
  export default cap;
}
