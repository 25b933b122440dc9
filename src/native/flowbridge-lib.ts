// flowbridge's own native library (native/*.c, built by scripts/bootstrap.mjs into
// build/native/libflowbridge.so with gcc), loaded through koffi once per thread that
// asks. Optional: without it, ingest reads payloads with JSON.parse and receives
// messages one call at a time, and says so in its status.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import koffi from 'koffi';

export const NATIVE_LIBRARY = join(import.meta.dirname, '..', '..', 'build', 'native', 'libflowbridge.so');

type Fn = ReturnType<ReturnType<typeof koffi.load>['func']>;
export interface FlowbridgeLibrary {
  scannerNew: Fn;
  scannerFree: Fn;
  scannerStats: Fn;
  scannerOutput: Fn;
  scan: Fn;
  /** Whole ZMQ messages in one call (native/zmq-receive.c); undefined when libzmq's functions were not found. */
  recvBatch: Fn | undefined;
}

let library: FlowbridgeLibrary | string | undefined;

/** The library's functions, or why they cannot be had. */
export function flowbridgeLibrary(): FlowbridgeLibrary | string {
  if (library !== undefined) return library;
  if (!existsSync(NATIVE_LIBRARY)) return (library = `${NATIVE_LIBRARY} is not built (scripts/bootstrap.mjs builds it with gcc)`);
  try {
    const lib = koffi.load(NATIVE_LIBRARY);
    // Pointer arguments as raw memory: koffi passes a Buffer's or typed array's bytes without conversion.
    const zmqOpen = lib.func('int32_t fb_zmq_open()');
    library = {
      scannerNew: lib.func('void *fb_scanner_new(const char *keys, int32_t count, uint32_t max_strings, uint32_t arena_bytes)'),
      scannerFree: lib.func('void fb_scanner_free(void *s)'),
      scannerStats: lib.func('void fb_scanner_stats(void *s, void *out)'),
      scannerOutput: lib.func('void fb_scanner_output(void *s, void *tape, uint32_t tape_entries, void *fresh, uint32_t fresh_entries, void *info)'),
      scan: lib.func('int32_t fb_scan(void *s, void *b, uint32_t n)'),
      recvBatch: zmqOpen() === 0
        ? lib.func('int32_t fb_recv_batch(void *socket, void *buf, uint32_t cap, void *meta, uint32_t max_messages, uint32_t header_cap, uint32_t payload_cap)')
        : undefined,
    };
  } catch (err) {
    library = `${NATIVE_LIBRARY} cannot be loaded: ${(err as Error).message}`;
  }
  return library;
}
