// Start-up repair of a recording directory after a crash or a kill: the file that was
// being written is cut at its last whole record and closed under its final name, and
// every file without a readable index gets one rebuilt from its packets (the same
// decoder and flow keys as live capture, so an extraction cannot tell the difference).
import { closeSync, ftruncateSync, openSync, readFileSync, renameSync } from 'node:fs';
import { PacketBatch } from '../capture/packet-batch.ts';
import { decodeFrame, FragmentPorts, newDecodedPacket } from '../capture/packet-decoder.ts';
import { FileIndexBuilder, readFileIndex } from './file-index.ts';
import { FILE_HEADER_BYTES, parseFileHeader, RECORD_HEADER_BYTES, walkRecords } from './pcap-format.ts';
import { listFiles } from './store.ts';

/** Batch flows before the key slots start over (as a capture's 100 ms batches do). */
const REBUILD_BATCH_FLOWS = 16_384;

/** Builds the index of a pcap file from its records (save it with .save()). Stops at the first damaged record. */
export function indexRecords(path: string): FileIndexBuilder {
  const bytes = readFileSync(path);
  const header = parseFileHeader(bytes);
  if (!header) throw new Error(`${path} is not a pcap file`);
  const index = new FileIndexBuilder(header.dlt, header.snaplen);
  const batch = new PacketBatch(REBUILD_BATCH_FLOWS);
  const packet = newDecodedPacket();
  const fragments = new FragmentPorts();
  const records = bytes.subarray(FILE_HEADER_BYTES);
  walkRecords(records, header, (at, r) => {
    const data = at + RECORD_HEADER_BYTES;
    const tsMs = Number(r.timeNs / 1000n) / 1000;
    let slot = -1;
    if (decodeFrame(records, data, r.caplen, r.length, header.dlt, packet, fragments) === undefined) {
      slot = batch.add(records, packet, tsMs);
      if (slot < 0) {
        batch.take();
        slot = batch.add(records, packet, tsMs);
      }
    }
    index.add(FILE_HEADER_BYTES + at, RECORD_HEADER_BYTES + r.caplen, tsMs, r.length, slot, batch);
  });
  return index;
}

/** Repairs `dir`; returns log lines saying what was done. */
export function recoverStore(dir: string): string[] {
  const log: string[] = [];
  for (const f of listFiles(dir)) {
    if (f.writing) {
      const finalPath = f.path.replace(/\/\.([^/]+)\.part$/, '/$1');
      const bytes = readFileSync(f.path);
      const header = parseFileHeader(bytes);
      if (!header) {
        // Not even a header reached the disk: nothing to keep.
        renameSync(f.path, `${f.path}.damaged`);
        log.push(`${f.name} had no pcap header; set aside as ${f.name}.damaged`);
        continue;
      }
      const end = FILE_HEADER_BYTES + walkRecords(bytes.subarray(FILE_HEADER_BYTES), header, () => undefined);
      if (end < bytes.length) {
        const fd = openSync(f.path, 'r+');
        ftruncateSync(fd, end);
        closeSync(fd);
        log.push(`${f.name} was cut at its last whole record (${bytes.length - end} bytes of a partial record removed)`);
      }
      renameSync(f.path, finalPath);
      indexRecords(finalPath).save(finalPath);
      log.push(`recovered ${f.name} after an unclean stop; index rebuilt`);
    } else if (!readFileIndex(f.indexPath)) {
      try {
        indexRecords(f.path).save(f.path);
        log.push(`index of ${f.name} was missing or partial; rebuilt`);
      } catch (err) {
        log.push(`index of ${f.name} cannot be rebuilt: ${(err as Error).message}`);
      }
    }
  }
  return log;
}
