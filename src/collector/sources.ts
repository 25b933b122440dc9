// Per-producer accounting (the "exporters" view): messages, events, and messages
// lost according to msg_id gaps. A source is a (source_id) of v1–v3 headers, or the
// peer connection for v0 headers, which carry no id. Idle sources expire; the
// table is bounded and says how many sources it had to forget.
import type { ExporterStats } from '../model/exporter.ts';

/** Sources silent for longer than this are forgotten (reference: 10 s). */
export const SOURCE_IDLE_MS = 10_000;
export const MAX_SOURCES = 4096;

interface Source extends ExporterStats {
  lastMsgId?: number;
}

export class SourceTable {
  readonly #sources = new Map<string, Source>();
  readonly #interfaceId: number;
  /** Sources dropped because the table was full. */
  overflow = 0;
  /** Total lost messages across sources, including those that expired. */
  lostMessages = 0;

  constructor(interfaceId: number) {
    this.#interfaceId = interfaceId;
  }

  get size(): number {
    return this.#sources.size;
  }

  /** Accounts one accepted message and returns the source key. */
  message(key: string, endpoint: string, sourceId: string, layout: number, msgId: number | undefined, now: number): Source {
    let s = this.#sources.get(key);
    if (!s) {
      if (this.#sources.size >= MAX_SOURCES) {
        this.expire(now);
        if (this.#sources.size >= MAX_SOURCES) {
          // Forget the oldest: Map iteration order is insertion order.
          const oldest = this.#sources.keys().next().value as string;
          this.#sources.delete(oldest);
          this.overflow++;
        }
      }
      s = {
        interfaceId: this.#interfaceId,
        endpoint,
        sourceId,
        headerVersion: layout,
        messages: 0,
        events: 0,
        lostMessages: 0,
        restarts: 0,
        firstSeen: now,
        lastSeen: now,
      };
      this.#sources.set(key, s);
    }
    s.messages++;
    s.lastSeen = now;
    s.headerVersion = layout;
    if (msgId !== undefined) {
      if (s.lastMsgId !== undefined) {
        // u32 arithmetic: a wrap from 0xffffffff to 0 is a gap of 1, not a restart.
        const gap = (msgId - s.lastMsgId) >>> 0;
        if (gap === 0 || gap > 0x7fffffff) s.restarts++;
        else if (gap > 1) {
          s.lostMessages += gap - 1;
          this.lostMessages += gap - 1;
        }
      }
      s.lastMsgId = msgId;
    }
    return s;
  }

  expire(now: number): void {
    for (const [key, s] of this.#sources) if (now - s.lastSeen > SOURCE_IDLE_MS) this.#sources.delete(key);
  }

  list(): ExporterStats[] {
    return [...this.#sources.values()].map(({ lastMsgId: _, ...s }) => ({ ...s }));
  }
}
