// Persists the mirrored marks and companion choices in the data directory, so
// they survive a restart. Writes are atomic (temp file + rename); a file that
// cannot be read back is moved aside and reported, never silently ignored.
import { join } from 'node:path';
import { loadState, saveState } from '../runtime/state-file.ts';

/** What is stored, by interface name (names are stable across restarts, ids are not). */
export interface InterfaceSettings {
  mirrored: string[];
  /** ZMQ interface name → companion interface name. */
  companions: Record<string, string>;
}

export interface LoadResult {
  settings: InterfaceSettings;
  /** Set when the file was unreadable: what was wrong and where it was moved. */
  problem?: string;
}

const FILE = 'interface-settings.json';

export class SettingsStore {
  readonly path: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, FILE);
  }

  load(): LoadResult {
    const { value, problem } = loadState(this.path, { mirrored: [], companions: {} }, asSettings,
      'a {"mirrored": [names], "companions": {zmq: name}} object', 'interface settings');
    return problem ? { settings: value, problem: problem.replace('starting without them', 'starting without saved marks') } : { settings: value };
  }

  save(settings: InterfaceSettings): void {
    saveState(this.path, settings);
  }
}

function asSettings(v: unknown): InterfaceSettings | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const { mirrored, companions } = v as Record<string, unknown>;
  if (!Array.isArray(mirrored) || !mirrored.every((m) => typeof m === 'string')) return undefined;
  if (typeof companions !== 'object' || companions === null || Array.isArray(companions)) return undefined;
  if (!Object.values(companions).every((c) => typeof c === 'string')) return undefined;
  return { mirrored: [...mirrored], companions: { ...(companions as Record<string, string>) } };
}
