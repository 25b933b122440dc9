// The on-demand sink's bound is in bytes: a piece a capture restart completed early keeps its
// packets, the next piece takes what the bound leaves, and the newest traffic is what stays.
// The pieces are read back by tcpdump and compared with the packets written.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { OnDemandSink } from '../../src/ondemand/ondemand-sink.ts';

const DLT_EN10MB = 1;
const FRAME = 1000;
let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A pcap record (16-byte header, native byte order) of an Ethernet frame whose payload bytes are all `n % 256`, numbered n in its first bytes. */
function record(n: number): Uint8Array {
  const r = new Uint8Array(16 + FRAME);
  const v = new DataView(r.buffer);
  v.setUint32(0, 1_700_000_000 + n, true);
  v.setUint32(4, 0, true);
  v.setUint32(8, FRAME, true);
  v.setUint32(12, FRAME, true);
  r.fill(n % 256, 16);
  v.setUint16(16 + 12, 0x88b5, false); // an EtherType for local experiments
  v.setUint32(16 + 14, n, false);
  return r;
}

const numbersIn = (file: string) =>
  execFileSync('tcpdump', ['-r', file, '-nn', '-x'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    .split(/\n(?=\S)/).filter(Boolean).map((p) => parseInt(p.split('\n')[1].trim().split(/\s+/).slice(1, 3).join(''), 16));

it('keeps a piece completed early by a restart, and bounds the pieces by bytes', () => {
  dir = mkdtempSync(join(tmpdir(), 'fb-ondemand-'));
  const config = { runId: 'r', dir, baseName: 'capture-2026-12-02_00-00-00', filter: '', pieceBytes: 50_000, maxPieces: 1 };
  // The first capture process writes 20 records and dies without closing (only flushed).
  const first = new OnDemandSink(config, DLT_EN10MB, 65535);
  for (let n = 0; n < 20; n++) first.add(record(n), 0, FRAME, FRAME);
  first.tick();
  // The restarted process completes that piece and goes on in the room it leaves.
  const second = new OnDemandSink(config, DLT_EN10MB, 65535);
  expect(second.stats().pieces.map((p) => p.name)).toEqual([`${config.baseName}.pcap0`]);
  for (let n = 20; n < 40; n++) second.add(record(n), 0, FRAME, FRAME);
  const during = second.stats();
  expect(during.overwritten).toBe(0);
  expect(during.pieces.map((p) => p.name)).toEqual([`${config.baseName}.pcap0`]);
  expect(during.current?.name).toBe(`${config.baseName}.pcap1`);
  // More than the bound: the oldest piece goes, the newest traffic stays, never past 50 000 bytes.
  for (let n = 40; n < 100; n++) second.add(record(n), 0, FRAME, FRAME);
  second.close();
  const files = readdirSync(dir).sort();
  expect(files.every((f) => !f.endsWith('.part') && !f.startsWith('.'))).toBe(true);
  const total = files.reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
  expect(total).toBeLessThanOrEqual(50_000);
  expect(second.stats().overwritten).toBeGreaterThan(0);
  const numbers = files.sort((a, b) => Number(a.split('.pcap')[1]) - Number(b.split('.pcap')[1])).flatMap((f) => numbersIn(join(dir, f)));
  // The newest records, in order, up to the last one written, and every record the files hold.
  expect(numbers.at(-1)).toBe(99);
  expect(numbers).toEqual(numbers.map((_, i) => 99 - numbers.length + 1 + i));
  expect(numbers.length).toBe((total - 24 * files.length) / (16 + FRAME));
});
