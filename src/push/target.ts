// A push target as an operator writes it, checked: FMADIO's Desc, Mode, Path, Split,
// FileName and FilterBPF, in the seed's own syntax, and the interface whose packets go.
// Refusals name the target and what is accepted. File names follow the seed's table (UTC).
import { BYTE_SIZE_ACCEPTED, parseByteSize } from '../model/byte-size.ts';
import { FILE_NAME_FORMATS, type FileNameFormat, type PushMode, type PushTargetSpec, type Split } from '../model/push.ts';

export class PushTargetError extends Error {}

const KEYS = ['desc', 'mode', 'path', 'split', 'fileName', 'filterBpf', 'interface', 'spoolSize'];
export const DEFAULT_SPOOL_BYTES = 1024 ** 3;
const DESC = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const NUMBER = /^\s*(\d+(?:\.\d+)?(?:[eE]\+?\d+)?)\s*$/;

/** `--split-time 60e9` / `--split-byte 1e9`, scientific notation accepted. */
export function parseSplit(text: string, desc = ''): Split {
  const where = desc ? `push target ${desc}: ` : '';
  const m = /^\s*--split-(time|byte)\s+(\S+)\s*$/.exec(text);
  const n = m && NUMBER.test(m[2]) ? Number(m[2]) : NaN;
  if (!m || !Number.isFinite(n)) {
    throw new PushTargetError(`${where}split ${JSON.stringify(text)} is not "--split-time <nanoseconds>" or "--split-byte <bytes>" (scientific notation accepted: --split-time 60e9, --split-byte 1e9)`);
  }
  if (!Number.isInteger(n) || n < 1) throw new PushTargetError(`${where}split ${JSON.stringify(text)}: the ${m[1] === 'time' ? 'nanoseconds' : 'bytes'} must be a whole number of at least 1`);
  if (m[1] === 'time') {
    if (n < 1e6) throw new PushTargetError(`${where}split ${JSON.stringify(text)}: a time split under 1 ms (1e6 ns) is not accepted`);
    return { kind: 'time', ns: n };
  }
  if (n < 4096) throw new PushTargetError(`${where}split ${JSON.stringify(text)}: a byte split under 4096 bytes is not accepted`);
  return { kind: 'byte', bytes: n };
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** A split's file name (without the path prefix) in `format`; times are epoch nanoseconds, UTC. */
export function splitFileName(format: FileNameFormat, startNs: bigint, endNs: bigint): string {
  const startSec = startNs / 1_000_000_000n;
  const d = new Date(Number(startSec) * 1000);
  const day = `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}`;
  switch (format) {
    case '--filename-epoch-sec-startend':
      return `${startSec}-${endNs / 1_000_000_000n}.pcap`;
    case '--filename-epoch-sec':
      return `${startSec}.pcap`;
    case '--filename-tstr-HHMM':
      return `${day}_${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}.pcap`;
    case '--filename-tstr-HHMMSS':
      return `${day}_${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}.pcap`;
    case '--filename-tstr-HHMMSS_NS': {
      const ns = String(startNs % 1_000_000_000n).padStart(9, '0');
      return `${day}_${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}.${ns.slice(0, 3)}.${ns.slice(3, 6)}.${ns.slice(6)}.pcap`;
    }
  }
}

/** Splits a target path into its directory and file prefix: `/srv/push/all` → (`/srv/push/`, `all_`); `/srv/push/` → (`/srv/push/`, ''). */
export function pathParts(path: string): { dir: string; prefix: string } {
  const cut = Math.max(path.lastIndexOf('/'), path.lastIndexOf(':'));
  const dir = path.slice(0, cut + 1);
  const base = path.slice(cut + 1);
  return { dir, prefix: base ? `${base}_` : '' };
}

/** Checks a target written by a person (config file, REST); throws PushTargetError saying what is accepted. */
export function pushTargetSpec(input: unknown): PushTargetSpec {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new PushTargetError(`a push target must be an object with ${KEYS.join(', ')}`);
  }
  const v = input as Record<string, unknown>;
  const desc = typeof v.desc === 'string' ? v.desc : '';
  if (!DESC.test(desc)) throw new PushTargetError(`push target desc ${JSON.stringify(v.desc)}: 1 to 64 letters, digits, '.', '_' or '-' (it names the target's log file)`);
  const where = `push target ${desc}`;
  const unknown = Object.keys(v).filter((k) => !KEYS.includes(k));
  if (unknown.length) throw new PushTargetError(`${where}: unknown field ${unknown.join(', ')} (accepted: ${KEYS.join(', ')})`);
  const mode = typeof v.mode === 'string' ? v.mode.toLowerCase() : '';
  if (mode !== 'file' && mode !== 'rclone') throw new PushTargetError(`${where}: mode ${JSON.stringify(v.mode)} is not FILE or RCLONE`);
  if (typeof v.path !== 'string' || v.path.trim() === '') throw new PushTargetError(`${where}: path is required (FILE: /srv/push/all or /srv/push/; RCLONE: remote:dir/prefix)`);
  const path = v.path.trim();
  if (mode === 'file' && !path.startsWith('/')) throw new PushTargetError(`${where}: path ${JSON.stringify(path)} must be absolute in FILE mode (/srv/push/all → /srv/push/all_<name>.pcap)`);
  if (mode === 'rclone' && !/^[A-Za-z0-9_.-][A-Za-z0-9_. -]*:/.test(path)) throw new PushTargetError(`${where}: path ${JSON.stringify(path)} must name an rclone remote in RCLONE mode (remote:dir/prefix)`);
  if (typeof v.split !== 'string') throw new PushTargetError(`${where}: split is required ("--split-time 60e9" or "--split-byte 1e9")`);
  parseSplit(v.split, desc);
  const fileName = v.fileName ?? '--filename-epoch-sec-startend';
  if (typeof fileName !== 'string' || !(FILE_NAME_FORMATS as readonly string[]).includes(fileName)) {
    throw new PushTargetError(`${where}: fileName ${JSON.stringify(v.fileName)} is not one of ${FILE_NAME_FORMATS.join(', ')}`);
  }
  if (v.filterBpf !== undefined && v.filterBpf !== null && typeof v.filterBpf !== 'string') throw new PushTargetError(`${where}: filterBpf must be a libpcap filter or null`);
  if (typeof v.interface !== 'string' || v.interface === '') throw new PushTargetError(`${where}: interface is required: the packet interface whose packets are pushed`);
  const filterBpf = typeof v.filterBpf === 'string' && v.filterBpf.trim() !== '' ? v.filterBpf : null;
  const spec: PushTargetSpec = { desc, mode: mode as PushMode, path, split: v.split.trim(), fileName: fileName as FileNameFormat, filterBpf, interface: v.interface };
  if (v.spoolSize !== undefined) {
    const bytes = typeof v.spoolSize === 'string' || typeof v.spoolSize === 'number' ? parseByteSize(v.spoolSize) : undefined;
    if (bytes === undefined || bytes < 1024 * 1024) throw new PushTargetError(`${where}: spoolSize ${JSON.stringify(v.spoolSize)} is not a size of at least 1 MiB: give ${BYTE_SIZE_ACCEPTED}`);
    if (mode !== 'rclone') throw new PushTargetError(`${where}: spoolSize is for RCLONE mode only (FILE mode writes straight to its path)`);
    spec.spoolBytes = bytes;
  }
  return spec;
}
