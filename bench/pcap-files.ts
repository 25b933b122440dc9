// What the recording, push and conditional benches read back from the pcap files they
// made: the files in a directory (closed, and left under a temporary name) and what
// capinfos counts in them (it also reads files cut short).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { finished, start } from './children.ts';

/** A directory's closed files (`*.pcap`) and those still under a temporary name (`*.pcap.part`); none when it was never written. */
export function pcapFiles(dir: string): { closed: string[]; parts: string[] } {
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    // never written
  }
  return {
    closed: names.filter((n) => n.endsWith('.pcap')).sort().map((n) => join(dir, n)),
    parts: names.filter((n) => n.endsWith('.pcap.part')).sort().map((n) => join(dir, n)),
  };
}

/** Packets and bytes (sum of packet lengths) in pcap files, as capinfos counts them, 50 files a run. */
export async function capinfosTotals(paths: string[]): Promise<{ packets: number; bytes: number }> {
  let packets = 0;
  let bytes = 0;
  for (let i = 0; i < paths.length; i += 50) {
    const chunk = paths.slice(i, i + 50);
    const r = await finished(start('capinfos', ['-c', '-d', '-M', ...chunk]), 120_000);
    const counts = [...r.stdout.matchAll(/Number of packets:\s+(\d+)/g)].map((m) => Number(m[1]));
    const sizes = [...r.stdout.matchAll(/Data size:\s+(\d+) bytes/g)].map((m) => Number(m[1]));
    if (counts.length !== chunk.length || sizes.length !== chunk.length) throw new Error(`capinfos read ${counts.length} of ${chunk.length} files: ${r.stderr.trim()}`);
    packets += counts.reduce((a, b) => a + b, 0);
    bytes += sizes.reduce((a, b) => a + b, 0);
  }
  return { packets, bytes };
}

/** Packets in pcap files, as capinfos counts them. */
export const capinfosCount = async (paths: string[]): Promise<number> => (await capinfosTotals(paths)).packets;
