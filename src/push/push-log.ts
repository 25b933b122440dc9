// A push target's log, as FMADIO writes it: `<data-dir>/log/push_<desc>_YYYYMMDD_HHMM`
// (the minute the target started), one line per event:
//   [0.001 H][2021-05-24 18:51:04] /mnt/remote0/push/1621849860-1621849920.pcap : Total Bytes 0.000 GB Speed: 0.000Gbps : New Split
import { appendFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const pad = (n: number) => String(n).padStart(2, '0');
const stamp = (d: Date, sep = ' ') =>
  `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}${sep}${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;

/** The log file of target `desc` started at `startedMs`. */
export function pushLogPath(logDir: string, desc: string, startedMs: number): string {
  const d = new Date(startedMs);
  return join(logDir, `push_${desc}_${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}_${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}`);
}

/** The last `lines` lines of target `desc`'s newest log. */
export function readPushLog(logDir: string, desc: string, lines = 200): { file?: string; lines: string[] } {
  let names: string[];
  try {
    names = readdirSync(logDir).filter((n) => n.startsWith(`push_${desc}_`) && /_\d{8}_\d{4}$/.test(n)).sort();
  } catch {
    return { lines: [] };
  }
  const newest = names[names.length - 1];
  if (!newest) return { lines: [] };
  const text = readFileSync(join(logDir, newest), 'utf8').split('\n').filter(Boolean);
  return { file: newest, lines: text.slice(-lines) };
}

export class PushLog {
  readonly path: string;
  readonly #startedMs: number;

  constructor(path: string, startedMs = Date.now()) {
    this.path = path;
    this.#startedMs = startedMs;
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch {
      // written lines will fail quietly; the target's stats still tell
    }
  }

  /** `<file> : Total Bytes <GB> Speed: <Gbps>[ : <note>]`, with the uptime and time in front. */
  progress(file: string, totalBytes: number, gbps: number, note?: string, nowMs = Date.now()): void {
    this.line(`${file} : Total Bytes ${(totalBytes / 1e9).toFixed(3)} GB Speed: ${gbps.toFixed(3)}Gbps${note ? ` : ${note}` : ''}`, nowMs);
  }

  line(text: string, nowMs = Date.now()): void {
    const hours = ((nowMs - this.#startedMs) / 3_600_000).toFixed(3);
    try {
      appendFileSync(this.path, `[${hours} H][${stamp(new Date(nowMs))}] ${text}\n`);
    } catch {
      // a full disk: the target's counters still tell
    }
  }
}
