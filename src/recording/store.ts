// A recording directory: numbered pcap files, each with its index beside it, and at
// most one file being written under a temporary name. Files are named
// `<seq>-<UTC start>.pcap` (`00000042-20261201T211500Z.pcap`): the sequence orders
// them (and survives restarts), the time tells a person what is inside.
//   00000042-20261201T211500Z.pcap       a closed file
//   00000042-20261201T211500Z.pcap.idx   its index (file-index.ts), and
//   00000042-20261201T211500Z.pcap.flows the index's flow table
//   .00000043-20261201T211600Z.pcap.part the file being written (not yet readable by name)
import { readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { flowsPathOf } from './file-index.ts';

const CLOSED = /^(\d{8})-(\d{8}T\d{6}Z)\.pcap$/;
const WRITING = /^\.(\d{8})-(\d{8}T\d{6}Z)\.pcap\.part$/;

export interface StoredFile {
  seq: number;
  /** File name (closed) or temporary name (being written). */
  name: string;
  path: string;
  /** Where its index is (it may not exist yet). */
  indexPath: string;
  bytes: number;
  /** True for the file being written (`.part`). */
  writing: boolean;
}

export const indexPathOf = (pcapPath: string) => `${pcapPath}.idx`;

/** The closed name of file number `seq` started at `startMs`. */
export function fileName(seq: number, startMs: number): string {
  const t = new Date(startMs).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${String(seq).padStart(8, '0')}-${t}.pcap`;
}

export const partName = (name: string) => `.${name}.part`;

/** The recording's files in sequence order (oldest first), with the file being written last if any. */
export function listFiles(dir: string): StoredFile[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const files: StoredFile[] = [];
  for (const name of names) {
    const closed = CLOSED.exec(name);
    const writing = closed ? null : WRITING.exec(name);
    const m = closed ?? writing;
    if (!m) continue;
    const path = join(dir, name);
    let bytes = 0;
    try {
      bytes = statSync(path).size;
    } catch {
      continue; // deleted meanwhile
    }
    const finalPath = writing ? join(dir, `${m[1]}-${m[2]}.pcap`) : path;
    files.push({ seq: Number(m[1]), name, path, indexPath: indexPathOf(finalPath), bytes, writing: Boolean(writing) });
  }
  return files.sort((a, b) => a.seq - b.seq || Number(a.writing) - Number(b.writing));
}

const sizeOf = (path: string) => {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
};

/** Bytes a file and its index take on disk. */
export function diskBytesOf(f: StoredFile): number {
  return f.bytes + sizeOf(f.indexPath) + sizeOf(flowsPathOf(f.indexPath));
}

/** Removes a closed file and its index. Returns the bytes freed. */
export function removeFile(f: StoredFile): number {
  const freed = diskBytesOf(f);
  for (const p of [f.path, f.indexPath, flowsPathOf(f.indexPath)]) {
    try {
      unlinkSync(p);
    } catch {
      // already gone
    }
  }
  return freed;
}
