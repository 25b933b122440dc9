// Offline push (FMADIO's `push_realtime.lua --offline`): a stored time range of an
// interface's continuous recording pushed through a target as if it were live. The
// reader's extract() streams the range in time order; each record goes to a PushSink
// built from the target's own sink config, so the BPF, the splitter, the file names
// and the directory (or, in rclone mode, the spool the uploader empties) are the
// live push's. Run in a thread of its own (offline-worker.ts): it reads the disk and,
// in rclone mode, waits for room in the spool rather than dropping.
import type { PushSinkConfig, PushTargetStats } from '../model/push.ts';
import { FILE_HEADER_BYTES, parseFileHeader, RECORD_HEADER_BYTES } from '../recording/pcap-format.ts';
import { extract, type EmptyReason } from '../recording/reader.ts';
import { PushSink } from './push-sink.ts';
import { endianness } from 'node:os';

const NATIVE_LE = endianness() === 'LE';

export interface OfflineWork {
  /** The interface's recording directory. */
  dir: string;
  /** Epoch nanoseconds, both included, as decimal text (worker data keeps bigints, but JSON does not). */
  beginNs: string;
  endNs: string;
  sink: PushSinkConfig;
}

export interface OfflineFile {
  /** Where it went: the file's path (FILE mode), or `remote:dir/name` (RCLONE mode, once uploaded). */
  path: string;
  packets: number;
  bytes: number;
}

export interface OfflineOutcome {
  /** Packets read from the recording in the range, and the pushed ones (those the target's BPF took). */
  read: number;
  packets: number;
  bytes: number;
  files: OfflineFile[];
  stats: PushTargetStats;
  emptyReason?: EmptyReason;
}

/** Where a closed split's file ends up (rclone: its name under the remote directory). */
export type FinalName = (closedPath: string) => string;

/**
 * Pushes the stored range through a sink made from `work.sink`. Synchronous (it may
 * block its thread while the spool is full); `onFile` is told of each split completed.
 */
export function pushOffline(work: OfflineWork, finalName: FinalName, onFile?: (f: OfflineFile) => void): OfflineOutcome {
  const files: OfflineFile[] = [];
  const chunks = extract(work.dir, { beginNs: BigInt(work.beginNs), endNs: BigInt(work.endNs) });
  let sink: PushSink | undefined;
  let read = 0;
  try {
    for (;;) {
      const n = chunks.next();
      if (n.done) {
        sink?.close();
        const stats = sink?.stats() ?? { desc: work.sink.desc, state: 'stopped', files: 0, bytes: 0, packets: 0, filteredOut: 0, dropped: {} };
        const outcome: OfflineOutcome = { read, packets: stats.packets, bytes: stats.bytes, files, stats };
        if (n.value.emptyReason) outcome.emptyReason = n.value.emptyReason;
        return outcome;
      }
      const bytes = n.value;
      let at = 0;
      if (!sink) {
        const h = parseFileHeader(bytes)!;
        sink = new PushSink(work.sink, h.dlt, h.snaplen, true, {
          waitForSpool: true,
          onClosed: (path, packets, size) => {
            const f = { path: finalName(path), packets, bytes: size };
            files.push(f);
            onFile?.(f);
          },
        });
        at = FILE_HEADER_BYTES;
      }
      // The reader's chunks hold whole records, native byte order, nanoseconds.
      const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      while (at + RECORD_HEADER_BYTES <= bytes.length) {
        const sec = v.getUint32(at, NATIVE_LE);
        const ns = v.getUint32(at + 4, NATIVE_LE);
        const caplen = v.getUint32(at + 8, NATIVE_LE);
        const wire = v.getUint32(at + 12, NATIVE_LE);
        sink.add(bytes, at, caplen, wire, sec * 1000 + ns / 1e6);
        read++;
        at += RECORD_HEADER_BYTES + caplen;
      }
    }
  } catch (err) {
    sink?.close();
    throw err;
  }
}
