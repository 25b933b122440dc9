// Splits a capture process left under their temporary name when it was killed (the
// supervisor starts another; a crash of flowbridge leaves them too): cut at the last
// whole record and completed under the name the split would have had, so the files of
// a target never stay hidden as `.part`, and an rclone spool uploads them like any
// other. Only parts of processes that are gone are touched (offline pushes write from
// threads of the living collector).
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { PushSinkConfig } from '../model/push.ts';
import { cutToWholeRecords } from '../ondemand/whole-records.ts';
import { FILE_HEADER_BYTES, parseFileHeader, walkRecords } from '../recording/pcap-format.ts';
import { splitFileName } from './target.ts';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Completes the target's splits left by processes that ended; returns what was done, a line each. */
export function completeLeftSplits(c: PushSinkConfig): string[] {
  const done: string[] = [];
  const part = new RegExp(`^\\.${c.desc.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d+)-\\d+-\\d+\\.pcap\\.part$`);
  let names: string[];
  try {
    names = readdirSync(c.dir);
  } catch {
    return done;
  }
  for (const name of names) {
    const pid = Number(part.exec(name)?.[1]);
    if (!pid || pid === process.pid || alive(pid)) continue;
    const path = join(c.dir, name);
    if (cutToWholeRecords(path) <= FILE_HEADER_BYTES) {
      rmSync(path, { force: true });
      done.push(`${name}: left by an ended capture with no whole packet; removed`);
      continue;
    }
    const bytes = readFileSync(path);
    const header = parseFileHeader(bytes)!;
    let first = -1n;
    let last = 0n;
    walkRecords(bytes.subarray(FILE_HEADER_BYTES), header, (_, r) => {
      if (first < 0n) first = r.timeNs;
      last = r.timeNs;
    });
    let startNs = first;
    let endNs = last;
    if (c.split.kind === 'time') {
      const span = BigInt(c.split.ns);
      startNs = (first / span) * span;
      endNs = startNs + span;
    }
    const finalPath = join(c.dir, c.prefix + splitFileName(c.fileName, startNs, endNs));
    let to = finalPath;
    for (let n = 2; existsSync(to); n++) to = finalPath.replace(/(\.pcap)?$/, `_${n}.pcap`);
    renameSync(path, to);
    done.push(`${to} : completed, left by a capture process that ended (pid ${pid})`);
  }
  return done;
}
