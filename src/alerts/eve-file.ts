// Follows a growing eve.json as `tail -F` does: reads what is appended, line by line;
// when the file is renamed and a new one created (logrotate), finishes the old one
// and starts the new one from its beginning; when it is truncated in place
// (copytruncate), starts again from 0. Its position (inode + offset of the last whole
// line read) is kept in the data directory, so a restart neither re-reads nor skips.
// Polled: inotify misses files on network filesystems and in some containers.
import { open, stat, type FileHandle } from 'node:fs/promises';
import type { EveFileStats } from '../model/alert.ts';
import { loadState, saveState } from '../runtime/state-file.ts';
import { LineSplitter, MAX_LINE_BYTES, type LineSink } from './line-splitter.ts';

export interface EveFileOptions {
  path: string;
  /** Where the position is kept (a JSON file in the data directory). */
  statePath: string;
  sink: LineSink;
  /** How often the file is looked at (default 250 ms). */
  pollMs?: number;
  maxLineBytes?: number;
}

interface Position {
  path: string;
  inode: number;
  offset: number;
}

const CHUNK = 256 * 1024;
/** Read at most this much per poll, so a large backlog does not hold the event loop. */
const BUDGET = 16 * 1024 * 1024;
/** The position is written at most this often while reading (and always at stop). */
const SAVE_EVERY_MS = 1_000;

function isPosition(v: unknown): Position | undefined {
  const p = v as Position;
  return typeof v === 'object' && v !== null && typeof p.path === 'string' && Number.isSafeInteger(p.inode) && Number.isSafeInteger(p.offset) && p.offset >= 0 ? p : undefined;
}

export class EveFileFollower {
  readonly #o: Required<Omit<EveFileOptions, 'sink'>>;
  readonly #splitter: LineSplitter;
  readonly #lines: LineSink;
  #fh: FileHandle | undefined;
  #inode: number | undefined;
  /** Where the next read starts. */
  #readOffset = 0;
  #saved: Position | undefined;
  #savedAt = 0;
  #firstOpen = true;
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #stopped = false;
  #stats: EveFileStats;
  /** Set when the saved position could not be read (reported as a problem). */
  readonly problem: string | undefined;

  constructor(options: EveFileOptions) {
    this.#o = { path: options.path, statePath: options.statePath, pollMs: options.pollMs ?? 250, maxLineBytes: options.maxLineBytes ?? MAX_LINE_BYTES };
    this.#stats = { path: options.path, state: 'starting', offset: 0, lines: 0, rotations: 0, truncations: 0 };
    this.#lines = {
      line: (text, bytes) => {
        this.#stats.lines++;
        options.sink.line(text, bytes);
      },
      tooLong: (excerpt) => options.sink.tooLong(excerpt),
    };
    this.#splitter = new LineSplitter(this.#lines, this.#o.maxLineBytes);
    const loaded = loadState<Position | undefined>(options.statePath, undefined, isPosition, '{ path, inode, offset }', 'the EVE file position');
    this.problem = loaded.problem;
    if (loaded.value?.path === options.path) this.#saved = loaded.value;
  }

  start(): void {
    this.#stopped = false;
    const loop = () => {
      this.#polling = this.poll().finally(() => {
        if (!this.#stopped) this.#timer = setTimeout(loop, this.#o.pollMs);
      });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#polling;
    this.#save(true);
    await this.#fh?.close().catch(() => {});
    this.#fh = undefined;
  }

  stats(): EveFileStats {
    return { ...this.#stats, inode: this.#inode, offset: this.#position() };
  }

  /** The offset of the first byte not yet taken as part of a whole line. */
  #position(): number {
    return this.#readOffset - this.#splitter.held;
  }

  /** One look at the file: open it if needed, read what was appended, notice rotation and truncation. */
  async poll(): Promise<void> {
    try {
      if (!this.#fh && !(await this.#open())) return;
      await this.#drain();
      let now;
      try {
        now = await stat(this.#o.path);
      } catch {
        // Renamed and not yet re-created: keep reading the old file.
        return;
      }
      if (now.ino !== this.#inode) {
        // Rotated: what the old file got last was read by the drain above.
        await this.#drain();
        await this.#fh!.close().catch(() => {});
        this.#fh = undefined;
        this.#stats.rotations++;
        this.#splitter.reset();
        if (await this.#open()) await this.#drain();
      } else if (now.size < this.#readOffset) {
        this.#stats.truncations++;
        this.#splitter.reset();
        this.#readOffset = 0;
        await this.#drain();
      }
      this.#stats.state = 'following';
      delete this.#stats.error;
    } catch (err) {
      this.#stats.state = 'error';
      this.#stats.error = (err as Error).message;
    } finally {
      this.#save(false);
    }
  }

  /** Opens the file; the saved position when it is still that file, else its end at first start, else 0. */
  async #open(): Promise<boolean> {
    let fh: FileHandle;
    try {
      fh = await open(this.#o.path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.#stats.state = 'waiting-for-file';
      this.#firstOpen = false;
      return false;
    }
    const st = await fh.stat();
    this.#fh = fh;
    this.#inode = st.ino;
    const saved = this.#saved;
    if (saved && saved.inode === st.ino && saved.offset <= st.size) this.#readOffset = saved.offset;
    // First start with no position kept: the history is not news (its flows are long gone).
    else if (!saved && this.#firstOpen) this.#readOffset = st.size;
    else this.#readOffset = 0;
    this.#firstOpen = false;
    this.#stats.state = 'following';
    this.#save(true);
    return true;
  }

  async #drain(): Promise<void> {
    const buf = Buffer.allocUnsafe(CHUNK);
    let budget = BUDGET;
    while (budget > 0 && this.#fh) {
      const { bytesRead } = await this.#fh.read(buf, 0, CHUNK, this.#readOffset);
      if (bytesRead === 0) return;
      this.#readOffset += bytesRead;
      budget -= bytesRead;
      this.#splitter.push(buf.subarray(0, bytesRead));
    }
  }

  #save(force: boolean): void {
    if (this.#inode === undefined) return;
    const pos: Position = { path: this.#o.path, inode: this.#inode, offset: this.#position() };
    if (this.#saved && this.#saved.inode === pos.inode && this.#saved.offset === pos.offset) return;
    if (!force && Date.now() - this.#savedAt < SAVE_EVERY_MS) return;
    saveState(this.#o.statePath, pos);
    this.#saved = pos;
    this.#savedAt = Date.now();
  }
}
