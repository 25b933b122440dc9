// Rclone mode: closed splits wait in a bounded local spool and are uploaded oldest
// first with Debian's `rclone copyto`, then removed. A failure is retried with a backoff
// that doubles up to a minute; nothing leaves the spool before it arrived. `failures`
// counts failed uploads, `retries` the attempts at a split that had failed before.
import { execFile } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { PushUploadStats } from '../model/push.ts';
import type { PushLog } from './push-log.ts';
import { spoolBytes } from './push-sink.ts';

const CHECK_MS = 1000;
const MAX_BACKOFF_MS = 60_000;
const UPLOAD_TIMEOUT_MS = 10 * 60_000;

/** Runs rclone; `output` is its stdout, or on failure the last line it said (stderr). */
function rclone(args: string[], timeoutMs: number): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile('rclone', args, { timeout: timeoutMs, maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) resolve({ ok: true, output: stdout.trim() });
      else if ((err as NodeJS.ErrnoException).code === 'ENOENT') resolve({ ok: false, output: 'rclone is not installed (apt-get install rclone)' });
      else resolve({ ok: false, output: `${stderr}`.trim().split('\n').filter(Boolean).pop() ?? err.message });
    });
  });
}

/** Undefined when `remote` (the part of a path before ':') is configured, else why not. */
export async function checkRemote(remote: string): Promise<string | undefined> {
  const r = await rclone(['listremotes'], 15_000);
  if (!r.ok) return `cannot list rclone remotes: ${r.output}`;
  const remotes = r.output.split('\n').map((l) => l.trim()).filter(Boolean);
  return remotes.includes(`${remote}:`) ? undefined : `rclone remote ${JSON.stringify(remote)} does not exist (configured: ${remotes.join(' ') || 'none'}; see rclone config)`;
}

export class RcloneUploader {
  readonly #spool: string;
  /** `remote:dir/` the spool's files go to, under their own names. */
  readonly #remoteDir: string;
  readonly #bound: number;
  readonly #log: () => PushLog | undefined;
  readonly #timer: NodeJS.Timeout;
  #busy = false;
  #backoffMs = 0;
  #retryAt = 0;
  #stopped = false;
  /** The split whose upload failed last (its next attempt is a retry). */
  #failed: string | undefined;
  readonly #stats: PushUploadStats;

  constructor(spool: string, remoteDir: string, spoolBound: number, log: () => PushLog | undefined) {
    this.#spool = spool;
    this.#remoteDir = remoteDir;
    this.#bound = spoolBound;
    this.#log = log;
    this.#stats = { uploaded: 0, uploadedBytes: 0, spoolFiles: 0, spoolBytes: 0, spoolBound: spoolBound, retries: 0, failures: 0, lagSeconds: 0 };
    this.#timer = setInterval(() => void this.#pump(), CHECK_MS);
    this.#timer.unref();
  }

  stats(): PushUploadStats {
    const { files, bytes } = spoolBytes(this.#spool);
    const oldest = this.#waiting()[0];
    let lag = 0;
    try {
      if (oldest) lag = (Date.now() - statSync(join(this.#spool, oldest)).mtimeMs) / 1000;
    } catch {
      // uploaded meanwhile
    }
    return { ...this.#stats, spoolFiles: files, spoolBytes: bytes, spoolBound: this.#bound, lagSeconds: Math.max(0, Math.round(lag * 10) / 10) };
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
  }

  /** Closed splits in the spool, oldest first (names start with their time, and `.part` files are not done). */
  #waiting(): string[] {
    try {
      return readdirSync(this.#spool)
        .filter((n) => n.endsWith('.pcap') && !n.startsWith('.'))
        .map((n) => ({ n, t: statSync(join(this.#spool, n)).mtimeMs }))
        .sort((a, b) => a.t - b.t || (a.n < b.n ? -1 : 1))
        .map((x) => x.n);
    } catch {
      return [];
    }
  }

  async #pump(): Promise<void> {
    if (this.#busy || this.#stopped || Date.now() < this.#retryAt) return;
    this.#busy = true;
    try {
      for (const name of this.#waiting()) {
        if (this.#stopped) return;
        const local = join(this.#spool, name);
        const remote = `${this.#remoteDir}${name}`;
        let bytes = 0;
        try {
          bytes = statSync(local).size;
        } catch {
          continue;
        }
        if (this.#failed === name) this.#stats.retries++;
        const r = await rclone(['copyto', '--retries', '1', '--low-level-retries', '1', '--contimeout', '5s', '--timeout', '30s', local, remote], UPLOAD_TIMEOUT_MS);
        if (!r.ok) {
          this.#stats.failures++;
          this.#failed = name;
          this.#stats.lastError = r.output;
          this.#backoffMs = Math.min(MAX_BACKOFF_MS, this.#backoffMs ? this.#backoffMs * 2 : 1000);
          this.#retryAt = Date.now() + this.#backoffMs;
          this.#log()?.line(`${remote} : upload failed (${r.output}); retry in ${this.#backoffMs / 1000} s`);
          return;
        }
        rmSync(local, { force: true });
        this.#backoffMs = 0;
        this.#failed = undefined;
        this.#stats.uploaded++;
        this.#stats.uploadedBytes += bytes;
        this.#log()?.line(`${remote} : uploaded ${bytes} bytes`);
      }
    } finally {
      this.#busy = false;
    }
  }
}
