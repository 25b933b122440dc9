// The reader on recordings written by the real writer from crafted frames: a busy
// window whose matches overflow many output chunks, flows found among thousands through
// the index's hash table and read at their offsets, and packets without a flow key
// (ARP) kept in windows but never in a flow. tshark reads every result.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lookupFlows, readFileIndex } from '../../src/recording/file-index.ts';
import { arpFrame, frame } from '../support/pcap-writer.ts';
import { extractToFile, recordFrames, T0, tempDir, tsharkRead } from './support.ts';



const udp = (flow: number, i: number, payload = 100) =>
  frame({ src: `10.${(flow >> 8) & 255}.${flow & 255}.1`, dst: '10.200.0.1', protocol: 'udp', sport: 20_000 + (flow % 1000), dport: 53, payload: payload + (i % 7) });
/** The flows API's key: endpoints ordered by address text, then port. */
const keyOf = (flow: number) => {
  const client = `10.${(flow >> 8) & 255}.${flow & 255}.1|${20_000 + (flow % 1000)}`;
  return client < '10.200.0.1|53' ? `17|${client}|10.200.0.1|53` : `17|10.200.0.1|53|${client}`;
};
const ns = (ms: number) => BigInt(Math.round(ms * 1000)) * 1000n;

describe('the reader', () => {
  it('extracts a busy window whose matches fill many output chunks, in order and whole', () => {
    const dir = tempDir('busy');
    const frames = Array.from({ length: 30_000 }, (_, i) => udp(i % 500, i));
    recordFrames(dir, frames, 20); // 30 000 packets in 0.6 s
    const { path, result } = extractToFile(dir, { beginNs: ns(T0), endNs: ns(T0 + 1000) }, join(tempDir('busy-out'), 'all.pcap'));
    expect(result.packets).toBe(30_000);
    const read = tsharkRead(path);
    expect(read).toHaveLength(30_000);
    expect(read.map((p) => p.payload.length)).toEqual(frames.map((_, i) => 100 + (i % 7)));
  });

  it('finds a few flows among thousands through the index and reads only their records', () => {
    const dir = tempDir('many');
    const flows = 5_000;
    const frames = Array.from({ length: 50_000 }, (_, i) => udp(i % flows, i, 200));
    recordFrames(dir, frames, 100, 4 * 1024 * 1024); // several files
    const files = readdirSync(dir).filter((n) => n.endsWith('.pcap'));
    expect(files.length).toBeGreaterThan(2);

    const wanted = [7, 2_500, 4_999];
    const keys = new Set(wanted.map(keyOf));
    const perFile = files.map((f) => lookupFlows(join(dir, `${f}.idx`), keys));
    expect(perFile.flat().reduce((n, f) => n + f.packets, 0)).toBe(30); // 10 packets of each flow
    expect(lookupFlows(join(dir, `${files[0]}.idx`), new Set(['17|10.0.0.1|1|10.0.0.2|2']))).toEqual([]);

    const { path, result } = extractToFile(dir, { beginNs: ns(T0), endNs: ns(T0 + 10_000) }, join(tempDir('many-out'), 'three.pcap'));
    expect(result.packets).toBe(50_000);
    const three = extractToFile(dir, { beginNs: ns(T0), endNs: ns(T0 + 10_000), flows: keys }, join(tempDir('many-out'), 'flows.pcap'));
    const read = tsharkRead(three.path);
    expect(read).toHaveLength(30);
    expect(read.map((p) => p.src).sort()).toEqual(wanted.flatMap((f) => Array(10).fill(`10.${(f >> 8) & 255}.${f & 255}.1`)).sort());
    // Only their records were read, not the files.
    const pcapBytes = files.reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    expect(three.result.bytesRead).toBeLessThan(pcapBytes / 20);
    expect(tsharkRead(path)).toHaveLength(50_000);
  });

  it('keeps packets without a flow key in windows and out of flows', () => {
    const dir = tempDir('arp');
    const frames = [udp(1, 0), arpFrame(), udp(1, 1), arpFrame(), udp(2, 2)];
    recordFrames(dir, frames, 1000);
    const [file] = readdirSync(dir).filter((n) => n.endsWith('.pcap'));
    expect(readFileIndex(join(dir, `${file}.idx`))!.unkeyed).toEqual([0]);
    const all = extractToFile(dir, { beginNs: ns(T0), endNs: ns(T0 + 10) }, join(tempDir('arp-out'), 'all.pcap'));
    expect(tsharkRead(all.path).map((p) => p.protocol)).toEqual(['udp', 'other', 'udp', 'other', 'udp']);
    const one = extractToFile(dir, { beginNs: ns(T0), endNs: ns(T0 + 10), flows: new Set([keyOf(1)]) }, join(tempDir('arp-out'), 'one.pcap'));
    expect(tsharkRead(one.path).map((p) => p.src)).toEqual(['10.0.1.1', '10.0.1.1']);
  });
});
