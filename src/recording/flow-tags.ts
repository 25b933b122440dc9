// Who made a recorded flow: the process, user and container the merged flow table
// knows, kept beside the recording so packets stay findable by process long after the
// flow left the table. Events may arrive after the packets (up to the grace period):
// a flow is tagged when it leaves the table, with everything that reached it by then,
// and flows still in the table are asked directly. One JSON line per flow in
// `<recording dir>/flow-tags.ndjson`, compacted when it grows past its bound (tags of
// flows older than the oldest recorded packet go).
import { appendFileSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { SideInfo } from '../model/event.ts';

export interface FlowTag {
  key: string;
  /** Epoch ms of the flow's first and last packet or event. */
  firstMs: number;
  lastMs: number;
  sides: SocketOwner[];
}

/** What one end's host said about its socket. */
export interface SocketOwner {
  pid?: number;
  path?: string;
  user?: string;
  uid?: number;
  containerId?: string;
  containerName?: string;
}

export interface OwnerFilter {
  /** Path, name (the path's last part) or PID. */
  process?: string;
  /** User name or UID. */
  user?: string;
  /** Container id (or its first 12 characters) or name. */
  container?: string;
}

export const MAX_TAG_FILE_BYTES = 16 * 1024 * 1024;

/** The owners a flow's sides name (none: the flow has no process information). */
export function ownersOf(sides: (SideInfo | undefined)[]): SocketOwner[] {
  const out: SocketOwner[] = [];
  for (const s of sides) {
    if (!s || (!s.process && !s.container)) continue;
    const o: SocketOwner = {};
    if (s.process) {
      o.pid = s.process.pid;
      if (s.process.path) o.path = s.process.path;
      if (s.process.user) o.user = s.process.user;
      if (s.process.uid !== undefined) o.uid = s.process.uid;
    }
    if (s.container?.id) o.containerId = s.container.id;
    if (s.container?.name) o.containerName = s.container.name;
    out.push(o);
  }
  return out;
}

/** True when an owner matches every part of the filter that is given. */
export function ownerMatches(o: SocketOwner, f: OwnerFilter): boolean {
  if (f.process !== undefined) {
    const byPid = /^\d+$/.test(f.process) && o.pid === Number(f.process);
    const byPath = o.path !== undefined && (o.path === f.process || basename(o.path) === f.process);
    if (!byPid && !byPath) return false;
  }
  if (f.user !== undefined && o.user !== f.user && !(/^\d+$/.test(f.user) && o.uid === Number(f.user))) return false;
  if (f.container !== undefined) {
    const id = o.containerId;
    const byId = id !== undefined && (id === f.container || (f.container.length >= 12 && id.startsWith(f.container)));
    if (!byId && o.containerName !== f.container) return false;
  }
  return true;
}

/** The tags of one recording directory. */
export class FlowTagLog {
  readonly path: string;
  #bytes: number;

  constructor(dir: string) {
    this.path = join(dir, 'flow-tags.ndjson');
    try {
      this.#bytes = statSync(this.path).size;
    } catch {
      this.#bytes = 0;
    }
  }

  append(tag: FlowTag): void {
    const line = JSON.stringify(tag) + '\n';
    appendFileSync(this.path, line);
    this.#bytes += line.length;
  }

  /** Keys of the tagged flows matching `f` that overlap [fromMs, toMs]. */
  keys(f: OwnerFilter, fromMs: number, toMs: number): Set<string> {
    const out = new Set<string>();
    for (const t of this.#read()) {
      if (t.lastMs >= fromMs && t.firstMs <= toMs && t.sides.some((o) => ownerMatches(o, f))) out.add(t.key);
    }
    return out;
  }

  /** Past its bound, keeps only the tags of flows seen since `oldestMs` (the oldest recorded packet). */
  compact(oldestMs: number): void {
    if (this.#bytes <= MAX_TAG_FILE_BYTES) return;
    const kept = this.#read().filter((t) => t.lastMs >= oldestMs);
    const text = kept.map((t) => JSON.stringify(t) + '\n').join('');
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, this.path);
    this.#bytes = text.length;
  }

  #read(): FlowTag[] {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return [];
    }
    const tags: FlowTag[] = [];
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        tags.push(JSON.parse(line) as FlowTag);
      } catch {
        // a line cut by a crash: the others stand
      }
    }
    return tags;
  }
}
