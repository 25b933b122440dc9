// Crafted frames through the real decoder and per-flow aggregation into a flow
// table, as the capture process would hand them over.
import type { FlowTable } from '../../src/flows/flow-table.ts';
import { PacketBatch } from '../../src/capture/packet-batch.ts';
import { decodeFrame, DLT, newDecodedPacket } from '../../src/capture/packet-decoder.ts';
import { frame, type FrameSpec } from '../support/pcap-writer.ts';

/** Applies `specs` as one batch seen at `now` (epoch ms). */
export function applyFrames(table: FlowTable, specs: FrameSpec[], now = Date.now()): void {
  const batch = new PacketBatch();
  const p = newDecodedPacket();
  for (const s of specs) {
    const f = frame(s);
    const failure = decodeFrame(f, 0, f.length, f.length, DLT.EN10MB, p);
    if (failure) throw new Error(failure);
    batch.add(f, p, now);
  }
  table.applyPackets(batch.take());
}

/** Frames of one TCP connection: `flags` alternate client→server, server→client. */
export function conversation(client: [string, number], server: [string, number], flags: string[], payload = 0): FrameSpec[] {
  return flags.map((f, i) => (i % 2 === 0
    ? { src: client[0], dst: server[0], protocol: 'tcp', sport: client[1], dport: server[1], flags: f, payload }
    : { src: server[0], dst: client[0], protocol: 'tcp', sport: server[1], dport: client[1], flags: f, payload }));
}
