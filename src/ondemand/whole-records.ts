// A piece left under its temporary name by a crash holds every record flushed before
// it, perhaps followed by a record cut short: cut the file after its last whole record
// so any reader takes it as a complete pcap.
import { closeSync, fstatSync, ftruncateSync, openSync, readSync } from 'node:fs';
import { FILE_HEADER_BYTES, MAX_CAPLEN, parseFileHeader, RECORD_HEADER_BYTES } from '../recording/pcap-format.ts';

/** Cuts `path` after its last whole record; returns the bytes kept (0: not a pcap at all). */
export function cutToWholeRecords(path: string): number {
  const fd = openSync(path, 'r+');
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(FILE_HEADER_BYTES);
    if (readSync(fd, head, 0, FILE_HEADER_BYTES, 0) < FILE_HEADER_BYTES) return 0;
    const h = parseFileHeader(head);
    if (!h) return 0;
    const record = Buffer.alloc(RECORD_HEADER_BYTES);
    let at = FILE_HEADER_BYTES;
    while (at + RECORD_HEADER_BYTES <= size) {
      readSync(fd, record, 0, RECORD_HEADER_BYTES, at);
      const caplen = h.littleEndian ? record.readUInt32LE(8) : record.readUInt32BE(8);
      if (caplen > MAX_CAPLEN || at + RECORD_HEADER_BYTES + caplen > size) break;
      at += RECORD_HEADER_BYTES + caplen;
    }
    if (at < size) ftruncateSync(fd, at);
    return at;
  } finally {
    closeSync(fd);
  }
}
