// Frame 1 of a message → plain records: inflate (with a hard cap, never trusting
// the header's size hints), then JSON (object or array) or nDPI TLV.
import { isUtf8 } from 'node:buffer';
import { inflateSync } from 'node:zlib';
import type { RejectReason } from '../../model/exporter.ts';
import type { ZmqHeader } from './header.ts';
import { decodeTlv, TlvError } from './tlv.ts';

/** ntopng drops payloads over 128 KiB; so do we, before and after inflating. */
export const MAX_PAYLOAD_BYTES = 128 * 1024;
/** Additional fields nested deeper than this are refused (events are 3 levels deep). */
export const MAX_JSON_DEPTH = 16;

export type Records = Record<string, unknown>[];
export type PayloadError = { error: RejectReason; detail: string };


/**
 * True when `value` nests objects or arrays deeper than `max`. JSON.parse itself is
 * not recursive, so nesting is checked after parsing, and only where it can hide: in
 * values the schemas do not describe (kept as additional fields).
 */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (max <= 0) return true;
  for (const v of Array.isArray(value) ? value : Object.values(value)) if (nestedDeeperThan(v, max - 1)) return true;
  return false;
}

function inflate(data: Buffer, maxBytes: number): Buffer | PayloadError {
  try {
    return inflateSync(data, { maxOutputLength: maxBytes });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
      return { error: 'inflate-bomb', detail: `inflates past ${maxBytes} bytes` };
    }
    return { error: 'inflate', detail: `zlib: ${e.message}` };
  }
}

function parseJson(data: Buffer): Records | PayloadError {
  const text = data.toString('utf8');
  // Invalid UTF-8 decodes to U+FFFD: only a text holding one (rare, and found at once in
  // the one-byte strings ASCII payloads make) needs the check of the bytes themselves.
  if (text.includes('\uFFFD') && !isUtf8(data)) return { error: 'utf8', detail: 'payload is not valid UTF-8' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { error: 'json', detail: (err as Error).message };
  }
  if (Array.isArray(value)) {
    if (!value.every((v) => typeof v === 'object' && v !== null && !Array.isArray(v))) {
      return { error: 'json', detail: 'a JSON array payload must hold only objects' };
    }
    return value as Records;
  }
  if (typeof value === 'object' && value !== null) return [value as Record<string, unknown>];
  return { error: 'json', detail: `a payload must be a JSON object or array, not ${typeof value}` };
}

/** The payload's bytes as the producer encoded them: size checked, inflated when compressed. */
export function payloadData(header: ZmqHeader, payload: Buffer, maxBytes = MAX_PAYLOAD_BYTES): Buffer | PayloadError {
  if (payload.length > maxBytes) return { error: 'oversize', detail: `payload larger than the ${maxBytes}-byte limit` };
  if (header.compressed === true) return inflate(payload, maxBytes);
  // Legacy marker: a first byte 0x00 means "zlib stream from byte 1".
  if (header.compressed === 'maybe' && payload.length > 0 && payload[0] === 0) return inflate(payload.subarray(1), maxBytes);
  return payload;
}

/** The records of a payload's bytes (payloadData), TLV or JSON as the header says. */
export function parseRecords(header: ZmqHeader, data: Buffer): Records | PayloadError {
  if (header.tlv) {
    try {
      return decodeTlv(data);
    } catch (err) {
      if (err instanceof TlvError) return { error: 'tlv', detail: err.message };
      throw err;
    }
  }
  return parseJson(data);
}

/** Decodes a payload according to its header, or says why it was rejected. */
export function decodePayload(header: ZmqHeader, payload: Buffer, maxBytes = MAX_PAYLOAD_BYTES): Records | PayloadError {
  const data = payloadData(header, payload, maxBytes);
  return Buffer.isBuffer(data) ? parseRecords(header, data) : data;
}
