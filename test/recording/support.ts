// What the recording tests share: a recording capture on lo, known traffic sent over
// it, extraction into a file, and tshark reading that file back packet by packet.
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PacketInterface } from '../../src/interfaces/packet-interface.ts';
import type { RecordingSettings } from '../../src/model/recording.ts';
import { extract, type ExtractionQuery, type ExtractionResult } from '../../src/recording/reader.ts';
import { waitFor } from '../support/wait.ts';

export const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), `fb-${prefix}-`));

export function recordingSettings(dir: string, over: Partial<RecordingSettings> = {}): RecordingSettings {
  return { dir, maxDiskBytes: 64 * 1024 * 1024, maxFileBytes: 256 * 1024 * 1024, maxFileSeconds: 60, snaplen: 65535, ...over };
}

/** A capture on lo, recording, limited by `filter` to the test's own ports. */
export async function recordLo(id: number, filter: string, settings: RecordingSettings): Promise<PacketInterface> {
  const lo = new PacketInterface({ id, name: 'lo', device: 'lo', filter, recording: settings, flowTable: { maxFlows: 10_000 } });
  await lo.start();
  return lo;
}

/** A payload of `length` bytes that says which flow and which datagram it is. */
export function payload(tag: string, i: number, length: number): Buffer {
  const head = Buffer.from(`${tag}#${i}:`);
  const b = Buffer.alloc(length, 0x61 + (i % 26));
  head.copy(b);
  return b;
}

/** Sends `datagrams` from `fromPort` to `toPort` on 127.0.0.1; resolves once sent. */
export async function sendUdp(fromPort: number, toPort: number, datagrams: Buffer[]): Promise<void> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(fromPort, '127.0.0.1', r));
  for (const d of datagrams) await new Promise<void>((r, j) => s.send(d, toPort, '127.0.0.1', (e) => (e ? j(e) : r())));
  s.close();
}

/** One TCP connection to a server on `port` that sends `bytes` and closes; returns the client's port. */
export async function sendTcp(port: number, bytes: Buffer): Promise<number> {
  const server = createServer((s) => {
    s.on('data', () => {});
    s.on('end', () => s.end());
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const clientPort = await new Promise<number>((resolve, reject) => {
    let local = 0;
    const c = connect(port, '127.0.0.1', () => {
      local = c.localPort!;
      c.end(bytes);
    });
    c.on('error', reject);
    c.on('data', () => {});
    c.on('close', () => resolve(local));
  });
  await new Promise<void>((r) => server.close(() => r()));
  return clientPort;
}

/** Waits until the capture has seen `packets` packets. */
export async function seen(iface: PacketInterface, packets: number): Promise<void> {
  await waitFor(() => iface.capture().packets >= packets, `${packets} packets captured`);
}

/** Runs an extraction into a file; returns the file, the result and the bytes. */
export function extractToFile(dir: string, q: ExtractionQuery, out: string): { path: string; result: ExtractionResult } {
  const chunks: Uint8Array[] = [];
  const it = extract(dir, q);
  for (;;) {
    const n = it.next();
    if (n.done) {
      writeFileSync(out, Buffer.concat(chunks));
      return { path: out, result: n.value };
    }
    chunks.push(n.value);
  }
}

export interface TsharkPacket {
  protocol: 'udp' | 'tcp' | 'other';
  src: string;
  srcPort: number;
  dstPort: number;
  /** Transport payload (hex decoded). */
  payload: Buffer;
  epochNs: bigint;
}

/** Every packet of a pcap file as tshark reads it (throws if tshark finds the file damaged). */
export function tsharkRead(path: string): TsharkPacket[] {
  const out = execFileSync('tshark', ['-r', path, '-n', '-T', 'fields', '-E', 'separator=/t', '-o', 'tcp.desegment_tcp_streams:FALSE',
    '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'udp.srcport', '-e', 'udp.dstport', '-e', 'tcp.srcport', '-e', 'tcp.dstport',
    '-e', 'udp.payload', '-e', 'tcp.payload', '-e', 'data.data'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return out.split('\n').filter(Boolean).map((line) => {
    const [time, src, us, ud, ts, td, up, tp, data] = line.split('\t');
    const [sec, frac = ''] = time.split('.');
    const epochNs = BigInt(sec) * 1_000_000_000n + BigInt(frac.padEnd(9, '0').slice(0, 9));
    const hex = up || tp || data || '';
    return {
      protocol: us ? 'udp' : ts ? 'tcp' : 'other',
      src,
      srcPort: Number(us || ts || 0),
      dstPort: Number(ud || td || 0),
      payload: Buffer.from(hex.replace(/:/g, ''), 'hex'),
      epochNs,
    };
  });
}

/** `capinfos`-like facts tshark gives about a file: its magic (precision) is read from the bytes. */
export function pcapMagic(bytes: Buffer): string {
  return bytes.readUInt32LE(0).toString(16);
}

/** Epoch nanoseconds of now (for windows). */
export const nowNs = () => BigInt(Date.now()) * 1_000_000n;
