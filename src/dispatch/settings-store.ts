// Persists the mirrored marks and companion choices in the data directory, so
// they survive a restart. Writes are atomic (temp file + rename); a file that
// cannot be read back is moved aside and reported, never silently ignored.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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
    const empty: InterfaceSettings = { mirrored: [], companions: {} };
    if (!existsSync(this.path)) return { settings: empty };
    let reason: string;
    try {
      const parsed = JSON.parse(readFileSync(this.path, 'utf8')) as unknown;
      const settings = asSettings(parsed);
      if (settings) return { settings };
      reason = 'it is not a {"mirrored": [names], "companions": {zmq: name}} object';
    } catch (err) {
      reason = (err as Error).message;
    }
    const aside = `${this.path}.corrupt-${Date.now()}`;
    renameSync(this.path, aside);
    return { settings: empty, problem: `interface settings in ${this.path} could not be read (${reason}); moved to ${aside}, starting without saved marks` };
  }

  save(settings: InterfaceSettings): void {
    mkdirSync(join(this.path, '..'), { recursive: true });
    const tmp = `${this.path}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify(settings, null, 2) + '\n', { mode: 0o644 });
    renameSync(tmp, this.path);
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
