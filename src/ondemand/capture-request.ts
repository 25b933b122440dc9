// A start request as a person sends it, checked before anything changes: the filter by
// libpcap itself (its own message when invalid), maxCaptureMB a whole number 1–1000.
import type { OnDemandRequest } from '../model/ondemand.ts';
import { BpfProgram } from '../native/libpcap.ts';

/** A refused request or an unknown capture; `status` is the HTTP answer. */
export class CaptureRequestError extends Error {
  constructor(message: string, readonly status: 400 | 404 | 409) {
    super(message);
  }
}

export const MAX_CAPTURE_MB = 1000;
/** A piece is 10 MB (of 1,000,000 bytes), as tcpdump -C 10 writes them. */
export const PIECE_MB = 10;
const FIELDS = ['filter', 'maxCaptureMB', 'deleteFilesOnStart'];
const ACCEPTED = '{ "filter": "<libpcap filter, \'\' for every packet>", "maxCaptureMB": 1–1000, "deleteFilesOnStart": true | false }';
/** Link type the filter is checked against (Ethernet); the capture compiles it again for its own. */
const DLT_EN10MB = 1;

export function captureRequest(body: unknown): OnDemandRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new CaptureRequestError(`send a JSON object ${ACCEPTED}`, 400);
  const b = body as Record<string, unknown>;
  const unknown = Object.keys(b).filter((k) => !FIELDS.includes(k));
  if (unknown.length) throw new CaptureRequestError(`unknown field ${unknown.join(', ')}: a capture takes ${ACCEPTED}`, 400);
  const filter = b.filter ?? '';
  if (typeof filter !== 'string') throw new CaptureRequestError(`filter must be a string in libpcap syntax (tcpdump's), '' for every packet`, 400);
  const max = b.maxCaptureMB;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > MAX_CAPTURE_MB) {
    throw new CaptureRequestError(`maxCaptureMB ${JSON.stringify(max ?? null)}: expected a whole number of MB from 1 to ${MAX_CAPTURE_MB} (pieces of ${PIECE_MB} MB, the oldest overwritten past it)`, 400);
  }
  const del = b.deleteFilesOnStart ?? false;
  if (typeof del !== 'boolean') throw new CaptureRequestError('deleteFilesOnStart must be true or false', 400);
  if (filter.trim() !== '') {
    try {
      new BpfProgram(filter, DLT_EN10MB).free();
    } catch (err) {
      throw new CaptureRequestError((err as Error).message, 400);
    }
  }
  return { filter: filter.trim(), maxCaptureMB: max, deleteFilesOnStart: del };
}

/** Piece size and count for `maxCaptureMB`: 10 MB pieces, the newest floor(max / 10) kept; under 10 MB, one piece of that size. */
export function pieces(maxCaptureMB: number): { pieceBytes: number; maxPieces: number } {
  if (maxCaptureMB < PIECE_MB) return { pieceBytes: maxCaptureMB * 1_000_000, maxPieces: 1 };
  return { pieceBytes: PIECE_MB * 1_000_000, maxPieces: Math.floor(maxCaptureMB / PIECE_MB) };
}
