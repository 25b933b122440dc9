// Per-flow aggregation of decoded packets: direction-free, endpoints in the flow
// key's order whatever the byte order of the addresses, bounded and counted.
import { describe, expect, it } from 'vitest';
import { PacketBatch } from '../../src/capture/packet-batch.ts';
import type { FlowDelta } from '../../src/model/flow-delta.ts';
import { decodeFrame, DLT, newDecodedPacket } from '../../src/capture/packet-decoder.ts';
import { frame, type FrameSpec } from '../support/pcap-writer.ts';

function add(batch: PacketBatch, spec: FrameSpec, ts: number): void {
  const f = frame(spec);
  const p = newDecodedPacket();
  expect(decodeFrame(f, 0, f.length, f.length, DLT.EN10MB, p)).toBeUndefined();
  batch.add(f, p, ts);
}

describe('PacketBatch', () => {
  for (const [family, low, high] of [['IPv4', '9.0.0.1', '10.0.0.1'], ['IPv6', 'fd00::9', 'fd00::10']] as const) {
    it(`${family}: both directions in one delta, endpoints in key (text) order, times and flags per side`, () => {
      // '10.0.0.1' sorts before '9.0.0.1' as text although its bytes are larger: the key order is the text's.
      const batch = new PacketBatch();
      add(batch, { src: low, dst: high, protocol: 'tcp', sport: 40000, dport: 80, flags: 'S' }, 1000);
      add(batch, { src: high, dst: low, protocol: 'tcp', sport: 80, dport: 40000, flags: 'SA', payload: 10 }, 1001);
      add(batch, { src: low, dst: high, protocol: 'tcp', sport: 40000, dport: 80, flags: 'A', payload: 5 }, 1002);
      const [d, ...rest] = batch.take();
      expect(rest).toEqual([]);
      expect(d).toMatchObject<Partial<FlowDelta>>({
        protocol: 6, aIp: high, aPort: 80, bIp: low, bPort: 40000,
        aToBPackets: 1, bToAPackets: 2, aFlags: 0x12, bFlags: 0x12,
        synFrom: 'b', synAckFrom: 'a', firstFrom: 'b', firstSeen: 1000, lastSeen: 1002,
      });
      expect(d.aToBBytes).toBe(frame({ src: high, dst: low, protocol: 'tcp', payload: 10 }).length);
      expect(d.vlan).toBeUndefined();
      expect(batch.take()).toEqual([]);
    });
  }

  it('keeps thousands of flows apart', () => {
    const batch = new PacketBatch(10_000);
    for (let i = 0; i < 3_000; i++) {
      const spec = { src: `10.0.${i >> 8}.${i & 255}`, dst: '10.9.9.9', protocol: 'udp', sport: 1000 + (i % 7), dport: 53 } as const;
      add(batch, spec, i);
      add(batch, spec, i);
      add(batch, { ...spec, src: `fd00::${i.toString(16)}`, dst: 'fd00::ffff' }, i);
    }
    const deltas = batch.take();
    expect(deltas).toHaveLength(6_000);
    expect(deltas.filter((d) => d.ipVersion === 4).every((d) => d.aToBPackets + d.bToAPackets === 2)).toBe(true);
    expect(deltas.filter((d) => d.ipVersion === 6).every((d) => d.aToBPackets + d.bToAPackets === 1)).toBe(true);
  });

  it('counts packets of new flows it has no room for, and has room again once taken', () => {
    const batch = new PacketBatch(2);
    for (const sport of [1, 2, 3, 3]) add(batch, { src: '10.0.0.1', dst: '10.0.0.2', protocol: 'udp', sport, dport: 53 }, 0);
    add(batch, { src: '10.0.0.1', dst: '10.0.0.2', protocol: 'udp', sport: 1, dport: 53 }, 0); // a known flow still counts
    expect(batch.overflow).toBe(2);
    expect(batch.take().map((d) => [d.aPort, d.aToBPackets])).toEqual([[1, 2], [2, 1]]);
    add(batch, { src: '10.0.0.1', dst: '10.0.0.2', protocol: 'udp', sport: 3, dport: 53 }, 0);
    expect(batch.size).toBe(1);
  });

  it('keeps VLANs apart', () => {
    const batch = new PacketBatch();
    for (const vlan of [undefined, 0, 4095]) add(batch, { src: '10.0.0.1', dst: '10.0.0.2', protocol: 'udp', sport: 1, dport: 53, vlan }, 0);
    expect(batch.take().map((d) => d.vlan)).toEqual([undefined, 0, 4095]);
  });
});
