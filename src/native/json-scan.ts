// The binding to flowbridge's own JSON scanner (native/json-scan.c). When the library
// is not built (no compiler on the machine), `openJsonScanner` says why and ingest
// reads every payload with JSON.parse, as before: slower, same verdicts.
import { flowbridgeLibrary, type FlowbridgeLibrary } from './flowbridge-lib.ts';

/** Tape operations (json-scan.c): entry k is tape[2k] = op * 256 + key id, tape[2k + 1] = value. */
export const OP_RECORD = 1;
export const OP_END = 2;
export const OP_OBJECT = 3;
export const OP_NUMBER = 4;
export const OP_STRING = 5;
/** Flags of a fresh string. */
export const FRESH_ESCAPED = 1;
export const FRESH_NON_ASCII = 2;

/** Why the scanner left a payload to JSON.parse (its negative return values, in order). */
export const DECLINE_REASONS = ['syntax', 'key', 'value', 'number', 'depth', 'full'] as const;
export type DeclineReason = (typeof DECLINE_REASONS)[number];

/** Interned strings: at most this many; then they are forgotten all at once and learned again. */
export const MAX_INTERNED = 65536;
const ARENA_BYTES = 4 * 1024 * 1024;

/** Frees a scanner nobody closed (a test's, say) once it is garbage. */
const unclosed = new FinalizationRegistry<{ fn: FlowbridgeLibrary; handle: unknown }>(({ fn, handle }) => fn.scannerFree(handle));

/** One scanner (one per thread): its tape, its fresh strings and its interned strings' table. */
export class JsonScanner {
  /** The tape of the last scan: 2 numbers per entry. */
  readonly tape: Float64Array;
  /** Strings first seen in the last scan: id, offset, length, flags each. */
  readonly fresh: Int32Array;
  /** [records, tape entries, fresh strings, 1 if the interned strings were forgotten first]. */
  readonly info: Int32Array;
  readonly #fn: FlowbridgeLibrary;
  readonly #handle: unknown;
  readonly #stats = new Int32Array(3);

  constructor(fn: FlowbridgeLibrary, keys: string[], maxPayloadBytes: number) {
    this.#fn = fn;
    this.#handle = fn.scannerNew(keys.map((k) => `${k}\0`).join(''), keys.length, MAX_INTERNED, ARENA_BYTES);
    if (!this.#handle) throw new Error('fb_scanner_new failed');
    unclosed.register(this, { fn, handle: this.#handle }, this);
    // Every entry takes at least 2 bytes of JSON ({} or "k":1,), every string value 4.
    const tapeEntries = (maxPayloadBytes >> 1) + 16;
    const freshEntries = (maxPayloadBytes >> 2) + 16;
    // Each over an ArrayBuffer of its own, whose memory never moves: the scanner keeps their addresses.
    this.tape = new Float64Array(new ArrayBuffer(tapeEntries * 16));
    this.fresh = new Int32Array(new ArrayBuffer(freshEntries * 16));
    this.info = new Int32Array(new ArrayBuffer(16));
    fn.scannerOutput(this.#handle, this.tape, tapeEntries, this.fresh, freshEntries, this.info);
  }

  /** Records scanned (≥ 0), or the reason (a negative index into DECLINE_REASONS, from -1). */
  scan(data: Uint8Array): number {
    return this.#fn.scan(this.#handle, data, data.length) as number;
  }

  /** The interned strings' table: how many, the bound, how many times it was forgotten. */
  strings(): { size: number; max: number; resets: number } {
    this.#fn.scannerStats(this.#handle, this.#stats);
    return { size: this.#stats[0], max: this.#stats[1], resets: this.#stats[2] };
  }

  close(): void {
    if (!unclosed.unregister(this)) return;
    this.#fn.scannerFree(this.#handle);
  }
}

/** A scanner for these key names, or why there is none (the library is not built). */
export function openJsonScanner(keys: string[], maxPayloadBytes: number): JsonScanner | string {
  const fn = flowbridgeLibrary();
  if (typeof fn === 'string') return fn;
  return new JsonScanner(fn, keys, maxPayloadBytes);
}
