// Which packet interfaces keep the packets of alerted flows, and the size bound of each
// interface's store: from --conditional-pcap <iface>=<size>, the config file's
// conditionalPcap and PATCH /api/v1/conditional-pcap, checked in one place with
// messages that say what is accepted, and saved in the data directory so that changes
// made at runtime survive a restart.
import { join } from 'node:path';
import { BYTE_SIZE_ACCEPTED, parseByteSize } from '../model/byte-size.ts';
import type { ConditionalSinkSettings } from '../model/conditional.ts';
import { loadState, saveState } from '../runtime/state-file.ts';

/** Interface name → the bound of its store in bytes. */
export type ConditionalRequest = Record<string, number>;

export const CONDITIONAL_DEFAULTS = {
  maxFileBytes: 64 * 1024 * 1024,
  maxFileSeconds: 60,
  snaplen: 65535,
  /** Look-back: an IDS alerts within moments of the packets that fired; this many seconds and bytes of every flow are kept. */
  lookbackMs: 5_000,
  lookbackBytes: 16 * 1024 * 1024,
  maxFlows: 100_000,
} as const;
const MIN_DISK_BYTES = 1024 * 1024;

export class ConditionalSettingsError extends Error {}

export const PATCH_ACCEPTED =
  '{ "interfaces": ["eth1", ...] or { "eth1": "500MB", ... }, "maxDiskBytes": "500MB" } (interfaces: the packet interfaces that keep alerted flows, each with a store of maxDiskBytes; [] turns conditional pcap off; maxDiskBytes alone resizes every chosen store)';

export function diskBytes(v: unknown, what: string): number {
  const bytes = typeof v === 'string' || typeof v === 'number' ? parseByteSize(v) : undefined;
  if (bytes === undefined) throw new ConditionalSettingsError(`${what} ${JSON.stringify(v)} is not a size: give ${BYTE_SIZE_ACCEPTED}`);
  if (bytes < MIN_DISK_BYTES) throw new ConditionalSettingsError(`${what} ${JSON.stringify(v)} is too small: at least ${MIN_DISK_BYTES} bytes (1MiB)`);
  return bytes;
}

/** `<iface>=<size>` values (the flag) or the config file's object, as a request. */
export function conditionalRequest(input: Record<string, unknown>): ConditionalRequest {
  const out: ConditionalRequest = {};
  for (const [name, size] of Object.entries(input)) out[name] = diskBytes(size, `conditional pcap size for ${name}`);
  return out;
}

/** A PATCH body applied to `current`; throws with what is accepted. */
export function patchRequest(body: unknown, current: ConditionalRequest): ConditionalRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ConditionalSettingsError(`the body must be ${PATCH_ACCEPTED}`);
  const b = body as Record<string, unknown>;
  const unknown = Object.keys(b).filter((k) => k !== 'interfaces' && k !== 'maxDiskBytes');
  if (unknown.length) throw new ConditionalSettingsError(`unknown field ${unknown.join(', ')}: send ${PATCH_ACCEPTED}`);
  if (b.interfaces === undefined && b.maxDiskBytes === undefined) throw new ConditionalSettingsError(`nothing to change: send ${PATCH_ACCEPTED}`);
  const size = b.maxDiskBytes === undefined ? undefined : diskBytes(b.maxDiskBytes, 'maxDiskBytes');
  if (b.interfaces === undefined) return Object.fromEntries(Object.keys(current).map((n) => [n, size!]));
  if (Array.isArray(b.interfaces)) {
    const out: ConditionalRequest = {};
    for (const n of b.interfaces) {
      if (typeof n !== 'string' || n === '') throw new ConditionalSettingsError(`interfaces ${JSON.stringify(b.interfaces)}: expected interface names; send ${PATCH_ACCEPTED}`);
      const bytes = size ?? current[n];
      if (bytes === undefined) throw new ConditionalSettingsError(`maxDiskBytes is required for ${n}, which has no conditional store yet: the store's bound, ${BYTE_SIZE_ACCEPTED}`);
      out[n] = bytes;
    }
    return out;
  }
  if (typeof b.interfaces === 'object' && b.interfaces !== null) return conditionalRequest(b.interfaces as Record<string, unknown>);
  throw new ConditionalSettingsError(`interfaces ${JSON.stringify(b.interfaces)}: send ${PATCH_ACCEPTED}`);
}

/** Where an interface's conditional store lives: `<data-dir>/conditional/<interface name>/`. */
export const conditionalDir = (dataDir: string, name: string) => join(dataDir, 'conditional', encodeURIComponent(name));

/** What the capture runs with. */
export function sinkSettings(dataDir: string, name: string, maxDiskBytes: number | undefined): ConditionalSinkSettings | undefined {
  if (maxDiskBytes === undefined) return undefined;
  const d = CONDITIONAL_DEFAULTS;
  return {
    dir: conditionalDir(dataDir, name), maxDiskBytes, maxFileBytes: d.maxFileBytes, maxFileSeconds: d.maxFileSeconds, snaplen: d.snaplen,
    lookbackMs: d.lookbackMs, lookbackBytes: d.lookbackBytes, maxFlows: d.maxFlows,
  };
}

function asRequest(v: unknown): ConditionalRequest | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  for (const x of Object.values(v)) if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < MIN_DISK_BYTES) return undefined;
  return v as ConditionalRequest;
}

export class ConditionalSettingsStore {
  readonly path: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, 'conditional-pcap.json');
  }

  load(): { request?: ConditionalRequest; problem?: string } {
    const { value, problem } = loadState<ConditionalRequest | undefined>(this.path, undefined, asRequest, 'an object of interface name -> bytes', 'conditional pcap settings');
    return { request: value, problem };
  }

  save(request: ConditionalRequest): void {
    saveState(this.path, request);
  }
}
