// What the recording tests share: a recording capture on lo, known traffic sent over
// it, extraction into a file, and tshark reading that file back packet by packet.
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { endianness, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PacketInterface } from '../../src/interfaces/packet-interface.ts';
import type { RecordingSettings } from '../../src/model/recording.ts';
import { PacketBatch } from '../../src/capture/packet-batch.ts';
import { decodeFrame, FragmentPorts, newDecodedPacket } from '../../src/capture/packet-decoder.ts';
import { extract, type ExtractionQuery, type ExtractionResult } from '../../src/recording/reader.ts';
import { RecordingWriter } from '../../src/recording/writer.ts';
import { waitFor } from '../support/wait.ts';

/** Start of the crafted recordings (epoch ms). */
export const T0 = 1_764_600_000_000;

/** Records `frames` (one every `stepUs` microseconds from T0) with the real writer, as the capture process does. */
export function recordFrames(dir: string, frames: Buffer[], stepUs: number, maxFileBytes = 256 * 1024 * 1024): void {
  const writer = new RecordingWriter(recordingSettings(dir, { maxDiskBytes: 1024 ** 3, maxFileBytes }), 1, true, T0);
  const batch = new PacketBatch(65_536);
  const packet = newDecodedPacket();
  const fragments = new FragmentPorts();
  frames.forEach((data, i) => {
    const ns = BigInt(T0) * 1_000_000n + BigInt(i * stepUs) * 1000n;
    const memory = Buffer.alloc(16 + data.length);
    memory.writeUInt32LE(Number(ns / 1_000_000_000n), 0);
    memory.writeUInt32LE(Number(ns % 1_000_000_000n), 4);
    memory.writeUInt32LE(data.length, 8);
    memory.writeUInt32LE(data.length, 12);
    data.copy(memory, 16);
    const tsMs = T0 + (i * stepUs) / 1000;
    const slot = decodeFrame(memory, 16, data.length, data.length, 1, packet, fragments) === undefined ? batch.add(memory, packet, tsMs) : -1;
    writer.add(memory, 0, data.length, data.length, tsMs, slot, batch);
    if (i % 10_000 === 9_999) {
      batch.take();
      writer.tick(tsMs);
    }
  });
  writer.close();
}

export const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), `fb-${prefix}-`));

export function recordingSettings(dir: string, over: Partial<RecordingSettings> = {}): RecordingSettings {
  return { dir, maxDiskBytes: 64 * 1024 * 1024, maxFileBytes: 256 * 1024 * 1024, maxFileSeconds: 60, snaplen: 65535, ...over };
}

/** A capture on lo, recording, limited by `filter` to the test's own ports. */
export async function recordLo(id: number, filter: string, settings: RecordingSettings, more: Partial<ConstructorParameters<typeof PacketInterface>[0]> = {}): Promise<PacketInterface> {
  const lo = new PacketInterface({ id, name: 'lo', device: 'lo', filter, recording: settings, flowTable: { maxFlows: 10_000 }, ...more });
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
    '-e', 'udp.payload', '-e', 'tcp.payload', '-e', 'data.data'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
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

/** A UDP socket bound to `fromPort` that sends datagrams one after the other (for tests that send in several rounds). */
export async function udpSender(fromPort: number): Promise<{ send(toPort: number, datagrams: Buffer[]): Promise<void>; close(): void }> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(fromPort, '127.0.0.1', r));
  return {
    async send(toPort, datagrams) {
      for (const d of datagrams) await new Promise<void>((r, j) => s.send(d, toPort, '127.0.0.1', (e) => (e ? j(e) : r())));
    },
    close: () => s.close(),
  };
}

/** Bytes a UDP datagram of `payloadBytes` takes in a recording of lo: record header, Ethernet, IPv4, UDP. */
export const udpRecordBytes = (payloadBytes: number) => 16 + 14 + 20 + 8 + payloadBytes;

/** The pid of this process's capture child (one capture running at a time). */
export function captureChildPid(): number {
  const lines = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)]).toString().split('\n');
  const line = lines.find((l) => l.includes('capture-process.ts'));
  if (!line) throw new Error('no capture process found');
  return Number(line.trim().split(/\s+/)[0]);
}

/** The closed pcap files of a recording directory, oldest first (names sort by sequence). */
export const closedPcaps = (dir: string) => readdirSync(dir).filter((n) => /^\d{8}-\d{8}T\d{6}Z\.pcap$/.test(n)).sort();

/** Every packet of every closed file of a recording, in file order, as tshark reads them. */
export function tsharkReadStore(dir: string): TsharkPacket[] {
  return closedPcaps(dir).flatMap((n) => tsharkRead(join(dir, n)));
}

/** Waits until the recording's log has a line matching `re`; returns it. */
export async function logLine(iface: PacketInterface, re: RegExp, timeoutMs?: number): Promise<string> {
  return waitFor(() => iface.recording().log.find((l) => re.test(l)), `a recording log line matching ${re}`, timeoutMs);
}

/** Gives `writer` one frame captured at `tsMs`, as the capture process does (a native nanosecond pcap record, no flow key). */
export function addFrame(writer: RecordingWriter, bytes: Buffer, tsMs: number): void {
  const record = Buffer.alloc(16 + bytes.length);
  const ns = BigInt(Math.round(tsMs * 1_000_000));
  const le = endianness() === 'LE';
  const write = (v: number, at: number) => (le ? record.writeUInt32LE(v, at) : record.writeUInt32BE(v, at));
  write(Number(ns / 1_000_000_000n), 0);
  write(Number(ns % 1_000_000_000n), 4);
  write(bytes.length, 8);
  write(bytes.length, 12);
  bytes.copy(record, 16);
  writer.add(record, 0, bytes.length, bytes.length, tsMs, -1, { generation: 0, keyOf: () => '' });
}
