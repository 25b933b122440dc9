// The "exporters" view: what the collector knows about each producer feeding a ZMQ interface.
import type { Bound } from './telemetry.ts';

/** Why a message or event was not accepted. Counted per ZMQ interface. */
export type RejectReason =
  | 'frame-count' // not exactly two frames
  | 'header-length' // header frame of an unknown length
  | 'header-version' // unsupported publisher version
  | 'topic' // a topic we do not handle
  | 'oversize' // payload over the 128 KiB limit
  | 'inflate' // zlib stream broken
  | 'inflate-bomb' // inflated past the hard output cap
  | 'utf8' // payload is not valid UTF-8
  | 'json' // not JSON, or JSON too deep
  | 'tlv' // malformed nDPI TLV
  | 'schema' // JSON fine, but not a valid event of its topic
  | 'handoff-full' // the collector→dispatch queue was full
  | 'internal-error'; // a bug in flowbridge met this message: counted and sampled, the loop goes on

/**
 * What libzmq's socket monitor saw of producer connections, counted per endpoint:
 * 'accepted' (a producer connected to an endpoint flowbridge binds), 'connected' (flowbridge
 * connected to a producer), 'disconnected' (the producer closed or reset it), 'oversize'
 * (libzmq cut a producer that was still sending: a frame over the ZMQ_MAXMSGSIZE guard, or,
 * rarely, broken ZMTP framing), 'handshake-failed*' (ZMTP or CURVE handshake refused).
 */
export type ConnectionEvent =
  | 'accepted' | 'connected' | 'disconnected' | 'oversize'
  | 'handshake-failed' | 'handshake-failed-protocol' | 'handshake-failed-auth';

export interface RejectedSample {
  /** Epoch milliseconds. */
  at: number;
  interfaceId: number;
  source: string;
  topic: string;
  reason: RejectReason;
  /** Human-readable detail (schema path and message, zlib error, ...). */
  detail: string;
  /** The first bytes of the payload, printable (at most 512 characters). */
  excerpt: string;
}

export interface ExporterStats {
  interfaceId: number;
  /** The endpoint the messages arrived on. */
  endpoint: string;
  /** `source_id` of v1–v3 headers; for v0 (no source id on the wire) the peer address, or the endpoint. */
  sourceId: string;
  headerVersion: number;
  messages: number;
  events: number;
  /** Messages lost according to msg_id gaps. */
  lostMessages: number;
  /** Times the msg_id went backwards (producer restart). */
  restarts: number;
  /** Epoch milliseconds. */
  firstSeen: number;
  lastSeen: number;
}

/** How socket payloads were read (src/collector/events/scanned-records.ts). */
export interface Decoding {
  /** 'native', or why the scanner is not used (then every payload goes through JSON.parse). */
  scanner: string;
  /** Records read through the scanner. */
  scanned: number;
  /** Payloads (or, from a record on, their rest) left to JSON.parse, by reason. */
  fallbacks: Record<string, number>;
}

/** Per ZMQ interface totals (for /metrics and the API). */
export interface CollectorStats {
  interfaceId: number;
  /** Messages received, by topic. */
  messages: Record<string, number>;
  /** Events accepted, by kind. */
  events: Record<string, number>;
  /** Rejections by reason. */
  rejected: Partial<Record<RejectReason, number>>;
  /** Rejections by topic (a topic flowbridge reads, or "-" when the header was unreadable), then reason. */
  rejectedByTopic: Record<string, Partial<Record<RejectReason, number>>>;
  /** The collector's bounded tables. */
  bounds: {
    /** The exporters table (sources idle for 10 s leave it on their own). */
    exporters: Bound;
    /** Field ids learned from `template` messages. */
    learnedFieldIds: Bound;
    /** Batches handed to the main thread and not yet consumed; their events are counted in rejected['handoff-full']. */
    handoffBatches: Bound;
    /** Distinct strings the native scanner knows (dropped: times it forgot them all, being full). */
    internedStrings: Bound;
  };
  /** How socket payloads were read: records through the native JSON scanner, and what it left to JSON.parse. */
  decoding: Decoding;
  lostMessages: number;
  /** Producer connections by endpoint (the endpoint as configured), then event. */
  connections: Record<string, Partial<Record<ConnectionEvent, number>>>;
  /** Times a receive or decode thread of this interface died and was started again. */
  threadRestarts: number;
  exporters: ExporterStats[];
  samples: RejectedSample[];
  /** The CURVE public key (Z85) when encryption is on. */
  curvePublicKey?: string;
}
