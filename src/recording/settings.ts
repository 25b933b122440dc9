// What an operator asks of an interface's recording (config file, --record, REST,
// page), checked in one place with messages that say what is accepted, and kept by
// interface name in the data directory so that changes made at runtime survive a
// restart (as mirrored marks do).
import { join } from 'node:path';
import { BYTE_SIZE_ACCEPTED, parseByteSize } from '../model/byte-size.ts';
import type { RecordingSettings } from '../model/recording.ts';
import { loadState, saveState } from '../runtime/state-file.ts';

/** The settings an operator chooses (the directory follows from --pcap-dir and the interface). */
export interface RecordingRequest {
  enabled: boolean;
  maxDiskBytes: number;
  maxFileBytes: number;
  maxFileSeconds: number;
  snaplen: number;
}

export const RECORDING_DEFAULTS = { maxFileBytes: 256 * 1024 * 1024, maxFileSeconds: 60, snaplen: 65535 } as const;
const MIN_DISK_BYTES = 1024 * 1024;
const MAX_FILE_SECONDS = 86_400;
/** Index offsets are 32-bit (file-index.ts). */
const MAX_FILE_BYTES = 4 * 1024 ** 3 - 1;

/** A recording setting a person got wrong: says which and what is accepted. */
export class RecordingSettingsError extends Error {}

/** What a person may write: sizes as numbers or text, the rest as numbers and booleans. */
export interface RecordingInput {
  enabled?: unknown;
  maxDiskSpace?: unknown;
  maxFileSize?: unknown;
  maxFileSeconds?: unknown;
  snaplen?: unknown;
}

const INPUT_KEYS = ['enabled', 'maxDiskSpace', 'maxFileSize', 'maxFileSeconds', 'snaplen'];

function size(v: unknown, what: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const bytes = typeof v === 'string' || typeof v === 'number' ? parseByteSize(v) : undefined;
  if (bytes === undefined) throw new RecordingSettingsError(`${what} ${JSON.stringify(v)} is not a size: give ${BYTE_SIZE_ACCEPTED}`);
  if (bytes < min) throw new RecordingSettingsError(`${what} ${JSON.stringify(v)} is too small: at least ${min} bytes`);
  if (bytes > max) throw new RecordingSettingsError(`${what} ${JSON.stringify(v)} is too large: at most ${max} bytes`);
  return bytes;
}

function integer(v: unknown, what: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new RecordingSettingsError(`${what} ${JSON.stringify(v)}: expected a whole number from ${min} to ${max}`);
  }
  return v;
}

/**
 * Applies `input` on top of `current` (or the defaults). Turning recording on for the
 * first time needs maxDiskSpace: the store must have a bound. Throws with what is accepted.
 */
export function recordingRequest(input: RecordingInput, current?: RecordingRequest): RecordingRequest {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new RecordingSettingsError(`recording settings must be an object with any of ${INPUT_KEYS.join(', ')}`);
  }
  const unknown = Object.keys(input).filter((k) => !INPUT_KEYS.includes(k));
  if (unknown.length) throw new RecordingSettingsError(`unknown recording setting ${unknown.join(', ')}: accepted are ${INPUT_KEYS.join(', ')}`);
  if (input.enabled !== undefined && typeof input.enabled !== 'boolean') throw new RecordingSettingsError(`enabled ${JSON.stringify(input.enabled)}: expected true or false`);
  const enabled = (input.enabled as boolean | undefined) ?? current?.enabled ?? true;
  const maxDisk = input.maxDiskSpace !== undefined ? size(input.maxDiskSpace, 'maxDiskSpace', MIN_DISK_BYTES) : current?.maxDiskBytes;
  if (maxDisk === undefined) {
    throw new RecordingSettingsError(`maxDiskSpace is required to record: the store's bound, ${BYTE_SIZE_ACCEPTED}`);
  }
  return {
    enabled,
    maxDiskBytes: maxDisk,
    maxFileBytes: input.maxFileSize !== undefined ? size(input.maxFileSize, 'maxFileSize', 64 * 1024, MAX_FILE_BYTES) : current?.maxFileBytes ?? RECORDING_DEFAULTS.maxFileBytes,
    maxFileSeconds: input.maxFileSeconds !== undefined ? integer(input.maxFileSeconds, 'maxFileSeconds', 1, MAX_FILE_SECONDS) : current?.maxFileSeconds ?? RECORDING_DEFAULTS.maxFileSeconds,
    snaplen: input.snaplen !== undefined ? integer(input.snaplen, 'snaplen', 64, 262_144) : current?.snaplen ?? RECORDING_DEFAULTS.snaplen,
  };
}

/** What the capture runs with: the request and where the files go. */
export function recordingSettings(request: RecordingRequest | undefined, pcapDir: string, interfaceId: number): RecordingSettings | undefined {
  if (!request?.enabled) return undefined;
  const { maxDiskBytes, maxFileBytes, maxFileSeconds, snaplen } = request;
  return { dir: join(pcapDir, String(interfaceId)), maxDiskBytes, maxFileBytes, maxFileSeconds, snaplen };
}

const FILE = 'recording-settings.json';

function asRequests(v: unknown): Record<string, RecordingRequest> | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const out: Record<string, RecordingRequest> = {};
  for (const [name, r] of Object.entries(v)) {
    const x = r as RecordingRequest;
    if (typeof x !== 'object' || x === null || typeof x.enabled !== 'boolean') return undefined;
    for (const k of ['maxDiskBytes', 'maxFileBytes', 'maxFileSeconds', 'snaplen'] as const) if (typeof x[k] !== 'number') return undefined;
    out[name] = { enabled: x.enabled, maxDiskBytes: x.maxDiskBytes, maxFileBytes: x.maxFileBytes, maxFileSeconds: x.maxFileSeconds, snaplen: x.snaplen };
  }
  return out;
}

/** Recording requests by interface name, saved in the data directory. */
export class RecordingSettingsStore {
  readonly path: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, FILE);
  }

  load(): { requests: Record<string, RecordingRequest>; problem?: string } {
    const { value, problem } = loadState(this.path, {}, asRequests, 'an object of interface name -> recording settings', 'recording settings');
    return { requests: value, problem };
  }

  save(requests: Record<string, RecordingRequest>): void {
    saveState(this.path, requests);
  }
}
