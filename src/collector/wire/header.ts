// The binary header frame of the ntopng ZMQ protocol (reference/wire-format.md).
// Four layouts, told apart by frame length; the size fields are hints producers
// disagree about, so nothing here trusts them for memory decisions.

export type HeaderVersion = 0 | 1 | 2 | 3;

export interface ZmqHeader {
  /** Layout: 0 (40 B legacy, ebpflowexport), 1 (24 B), 2 (28 B), 3 (36 B, version byte 4). */
  layout: HeaderVersion;
  /** The version field as sent. */
  version: number;
  topic: string;
  /** msg_id, when the layout carries one. */
  msgId?: number;
  /** source_id, when the layout carries one. */
  sourceId?: number;
  /** Payload is nDPI TLV. */
  tlv: boolean;
  /** Payload is zlib; `zlibOffset` is where the stream starts (1 for the legacy 0x00 marker). */
  compressed: boolean | 'maybe';
}

export type HeaderError = { error: 'header-length' | 'header-version'; detail: string };

export const V3_FLAG_TLV = 0x02;
export const V3_FLAG_COMPRESSED = 0x04;

const LENGTH_TO_LAYOUT = new Map<number, HeaderVersion>([
  [40, 0],
  [24, 1],
  [28, 2],
  [36, 3],
]);

/** The last topic read: a producer sends one topic message after message, read once. */
let lastTopic = '';

/** The topic: the bytes before the first NUL, at most `max`. */
function topicOf(frame: Buffer, max: number): string {
  let end = 0;
  let same = true;
  for (; end < max; end++) {
    const c = frame[end];
    if (c === 0) break;
    if (same && c !== lastTopic.charCodeAt(end)) same = false;
  }
  if (same && end === lastTopic.length) return lastTopic;
  return (lastTopic = frame.toString('latin1', 0, end));
}

/** Parses a header frame, or says why it is not one we accept. */
export function parseHeader(frame: Buffer): ZmqHeader | HeaderError {
  const layout = LENGTH_TO_LAYOUT.get(frame.length);
  if (layout === undefined) {
    return { error: 'header-length', detail: `header frame of ${frame.length} bytes (accepted: 24, 28, 36 or 40)` };
  }
  if (layout === 0) {
    const version = frame.readUInt32LE(32);
    return { layout, version, topic: topicOf(frame, 32), tlv: false, compressed: 'maybe' };
  }
  const version = frame[16];
  if (version > 4) return { error: 'header-version', detail: `publisher version ${version} (accepted: up to 4)` };
  const topic = topicOf(frame, 16);
  if (layout === 3) {
    if (version !== 4) return { error: 'header-version', detail: `36-byte header with version ${version} (expected 4)` };
    const flags = frame[17];
    return {
      layout, version, topic,
      msgId: frame.readUInt32BE(28),
      sourceId: frame.readUInt32LE(32),
      tlv: (flags & V3_FLAG_TLV) !== 0,
      compressed: (flags & V3_FLAG_COMPRESSED) !== 0,
    };
  }
  // v1 stores msg_id in host order when version == 1 (an old ntopng quirk), big-endian otherwise.
  const msgId = layout === 1 && version === 1 ? frame.readUInt32LE(20) : frame.readUInt32BE(20);
  const sourceId = layout === 1 ? frame[17] : frame.readUInt32LE(24);
  return { layout, version, topic, msgId, sourceId, tlv: version === 3, compressed: 'maybe' };
}

export interface HeaderFields {
  layout: HeaderVersion;
  topic: string;
  /** Payload size hint written into the size field(s). */
  size?: number;
  msgId?: number;
  sourceId?: number;
  /** v1/v2: the version byte (default 2 for v2, 2 for v1 so msg_id is big-endian). */
  version?: number;
  /** v3 only. */
  tlv?: boolean;
  compressed?: boolean;
  uncompressedSize?: number;
}

/** Builds a header frame as producers do (used by the demo producer, tests and benchmarks). */
export function encodeHeader(h: HeaderFields): Buffer {
  const size = h.size ?? 0;
  switch (h.layout) {
    case 0: {
      const b = Buffer.alloc(40);
      b.write(h.topic, 0, 31, 'latin1');
      b.writeUInt32LE(h.version ?? 0, 32);
      b.writeUInt32LE(size, 36);
      return b;
    }
    case 1: {
      const b = Buffer.alloc(24);
      b.write(h.topic, 0, 15, 'latin1');
      const version = h.version ?? 2;
      b[16] = version;
      b[17] = (h.sourceId ?? 0) & 0xff;
      b.writeUInt16LE(size & 0xffff, 18);
      if (version === 1) b.writeUInt32LE(h.msgId ?? 0, 20);
      else b.writeUInt32BE(h.msgId ?? 0, 20);
      return b;
    }
    case 2: {
      const b = Buffer.alloc(28);
      b.write(h.topic, 0, 15, 'latin1');
      b[16] = h.version ?? 2;
      b.writeUInt16LE(size & 0xffff, 18);
      b.writeUInt32BE(h.msgId ?? 0, 20);
      b.writeUInt32LE(h.sourceId ?? 0, 24);
      return b;
    }
    case 3: {
      const b = Buffer.alloc(36);
      b.write(h.topic, 0, 15, 'latin1');
      b[16] = 4;
      b[17] = (h.tlv ? V3_FLAG_TLV : 0) | (h.compressed ? V3_FLAG_COMPRESSED : 0);
      b.writeUInt32LE(h.uncompressedSize ?? size, 20);
      b.writeUInt32LE(size, 24);
      b.writeUInt32BE(h.msgId ?? 0, 28);
      b.writeUInt32LE(h.sourceId ?? 0, 32);
      return b;
    }
  }
}
