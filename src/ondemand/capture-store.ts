// The captures directory, <data-dir>/captures: the pieces of stopped on-demand captures,
// what each came from (interface, who started it) in <data-dir>/captures.json, and
// .running/<interface>/ where a running capture writes. Pieces enter the directory only
// complete (renamed); a run a crash left in .running is moved in when flowbridge starts.
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { CaptureFile } from '../model/ondemand.ts';
import { makeDirs } from '../runtime/make-dirs.ts';
import { loadState, saveState } from '../runtime/state-file.ts';
import { CaptureRequestError } from './capture-request.ts';
import { baseName, completedName, PIECE_NAME, pieceNumber, runOf } from './piece-names.ts';
import { cutToWholeRecords } from './whole-records.ts';

/** What a run writes beside its pieces, so a crash does not lose where they came from. */
export interface RunFile {
  runId: string;
  interface: string;
  startedBy: string;
  startedAt: number;
  filter: string;
  maxCaptureMB: number;
  deleteFilesOnStart: boolean;
}

interface Origin {
  interface: string | null;
  startedBy: string | null;
  createdAt: number;
}

const INDEX = 'captures.json';
export const RUN_FILE = 'run.json';

export class CaptureStore {
  readonly dir: string;
  readonly runningDir: string;
  readonly problems: string[] = [];
  readonly #indexPath: string;
  readonly #origins: Map<string, Origin>;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'captures');
    this.runningDir = join(this.dir, '.running');
    this.#indexPath = join(dataDir, INDEX);
    makeDirs(this.runningDir);
    const accept = (v: unknown) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, Origin>) : undefined);
    const { value, problem } = loadState<Record<string, Origin>>(this.#indexPath, {}, accept, 'an object of capture files', 'capture file origins');
    if (problem) this.problems.push(problem);
    this.#origins = new Map(Object.entries(value).filter(([name]) => PIECE_NAME.test(name)));
  }

  /** Where the capture of interface `name` writes while it runs. */
  runDir(name: string): string {
    return join(this.runningDir, encodeURIComponent(name));
  }

  /** Moves in every run a crash (or a kill) left in .running; returns the pieces moved. */
  recover(): string[] {
    const moved: string[] = [];
    for (const entry of readdirSync(this.runningDir)) {
      const dir = join(this.runningDir, entry);
      let run: Partial<RunFile> = {};
      try {
        run = JSON.parse(readFileSync(join(dir, RUN_FILE), 'utf8')) as RunFile;
      } catch {
        // pieces without their run file: kept, their origin unknown
      }
      try {
        moved.push(...this.moveIn(dir, run.interface ?? decodeURIComponent(entry), run.startedBy ?? null));
      } catch (err) {
        this.problems.push(`an on-demand capture left in ${dir} could not be moved into ${this.dir}: ${(err as Error).message}`);
      }
    }
    return moved;
  }

  /**
   * Moves the complete pieces of `runDir` into the captures directory (a piece left
   * under its temporary name is cut after its last whole record first), then removes
   * the run's directory. Returns the names moved, oldest first.
   */
  moveIn(runDir: string, iface: string | null, startedBy: string | null): string[] {
    if (!existsSync(runDir)) return [];
    const moved: string[] = [];
    for (const file of readdirSync(runDir)) {
      const from = join(runDir, file);
      let name = PIECE_NAME.test(file) ? file : completedName(file);
      if (!name) continue;
      if (name !== file && cutToWholeRecords(from) === 0) {
        rmSync(from, { force: true });
        continue;
      }
      const st = statSync(from);
      for (let n = 2; existsSync(join(this.dir, name)); n++) name = `${runOf(name)}_${n}.pcap${pieceNumber(name)}`;
      renameSync(from, join(this.dir, name));
      this.#origins.set(name, { interface: iface, startedBy, createdAt: Math.round(st.birthtimeMs || st.mtimeMs) });
      moved.push(name);
    }
    this.#save();
    rmSync(runDir, { recursive: true, force: true });
    return moved.sort((a, b) => pieceNumber(a) - pieceNumber(b));
  }

  /** The files of the captures directory, oldest first. */
  list(): CaptureFile[] {
    const files: CaptureFile[] = [];
    for (const name of readdirSync(this.dir)) {
      if (!PIECE_NAME.test(name)) continue;
      let st;
      try {
        st = statSync(join(this.dir, name));
      } catch {
        continue;
      }
      const o = this.#origins.get(name);
      const createdAt = o?.createdAt ?? Math.round(st.birthtimeMs || st.mtimeMs);
      files.push({ name, bytes: st.size, interface: o?.interface ?? null, startedBy: o?.startedBy ?? null, createdAt: new Date(createdAt).toISOString() });
    }
    return files.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.name.localeCompare(b.name, undefined, { numeric: true }));
  }

  /** One file's path and size: 400 for a name that is not a capture piece's, 404 for one that is not there. */
  file(name: string): { path: string; bytes: number; origin?: Origin } {
    if (!PIECE_NAME.test(name)) throw new CaptureRequestError(`${JSON.stringify(name)} is not the name of a capture file (capture-YYYY-MM-DD_HH-MM-SS.pcapN, from GET /api/v1/captures)`, 400);
    const path = join(this.dir, name);
    let bytes: number;
    try {
      bytes = statSync(path).size;
    } catch {
      throw new CaptureRequestError(`no capture file ${name} (GET /api/v1/captures lists them)`, 404);
    }
    return { path, bytes, origin: this.#origins.get(name) };
  }

  remove(name: string): void {
    rmSync(this.file(name).path);
    this.#origins.delete(name);
    this.#save();
  }

  /** Deletes every capture file (Delete Files On Start); returns how many. */
  clear(): number {
    let n = 0;
    for (const name of readdirSync(this.dir)) {
      if (!PIECE_NAME.test(name)) continue;
      rmSync(join(this.dir, name), { force: true });
      n++;
    }
    this.#origins.clear();
    this.#save();
    return n;
  }

  /** A base name for a run starting at `ms` that no stored or running piece has. */
  freeBase(ms: number): string {
    const taken = new Set([...readdirSync(this.dir), ...readdirSync(this.runningDir).flatMap((d) => {
      try {
        return readdirSync(join(this.runningDir, d)).map((f) => completedName(f) ?? f);
      } catch {
        return [];
      }
    })].filter((f) => PIECE_NAME.test(f)).map(runOf));
    const base = baseName(ms);
    let name = base;
    for (let n = 2; taken.has(name); n++) name = `${base}_${n}`;
    return name;
  }

  #save(): void {
    for (const name of this.#origins.keys()) if (!existsSync(join(this.dir, name))) this.#origins.delete(name);
    saveState(this.#indexPath, Object.fromEntries(this.#origins));
  }
}
