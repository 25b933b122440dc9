// What the main thread and an extraction thread say to each other.
import type { ExtractionQuery, ExtractionResult } from './reader.ts';

export interface ExtractionJob {
  /** The recording directory. */
  dir: string;
  query: ExtractionQuery;
  /** Write to files instead of streaming. */
  output?: { dir: string; base: string; partBytes: number; maxBytes: number };
}

export type ExtractionCommand = { type: 'more' };

export type ExtractionMessage =
  | { type: 'ready' }
  | { type: 'chunk'; bytes: Uint8Array }
  | { type: 'end'; result: ExtractionResult }
  | { type: 'progress'; bytes: number }
  | { type: 'done'; files: { name: string; bytes: number }[]; result: ExtractionResult; limitReached: boolean }
  /** `badRequest`: the request's fault (e.g. a filter libpcap refuses), not the store's. */
  | { type: 'error'; message: string; badRequest: boolean };
