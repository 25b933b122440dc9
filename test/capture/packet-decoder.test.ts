// The decoder on crafted frames: every link layer, IPv4 options and fragments, IPv6
// extension headers and fragments, ICMP/ICMPv6, and the reasons it gives instead of throwing.
import { describe, expect, it } from 'vitest';
import { addressText, decodeFrame, DLT, FragmentPorts, newDecodedPacket, type DecodedPacket } from '../../src/capture/packet-decoder.ts';
import { arpFrame, frame, type FrameSpec } from '../support/pcap-writer.ts';

const LINK_DLT = { ethernet: DLT.EN10MB, sll: DLT.LINUX_SLL, sll2: DLT.LINUX_SLL2, raw: DLT.RAW, null: DLT.NULL } as const;

/** Decodes `spec`'s frame (placed at an offset, as in the capture's record memory). */
function decode(spec: FrameSpec, fragments?: FragmentPorts): { packet: DecodedPacket; src: string; dst: string } | string {
  const f = frame(spec);
  const memory = Buffer.concat([Buffer.alloc(7, 0xee), f]);
  const packet = newDecodedPacket();
  const failure = decodeFrame(memory, 7, f.length, f.length + 4, LINK_DLT[spec.link ?? 'ethernet'], packet, fragments);
  if (failure) return failure;
  return { packet, src: addressText(memory, packet.src, packet.ipVersion), dst: addressText(memory, packet.dst, packet.ipVersion) };
}

const tcp = { src: '192.0.2.1', dst: '198.51.100.7', protocol: 'tcp', sport: 40000, dport: 443, flags: 'SA' } as const;

describe('link layers', () => {
  for (const link of ['ethernet', 'sll', 'sll2', 'raw', 'null'] as const) {
    it(`${link}: IPv4 and IPv6 TCP`, () => {
      expect(decode({ ...tcp, link })).toMatchObject({ src: '192.0.2.1', dst: '198.51.100.7', packet: { protocol: 6, ipVersion: 4, srcPort: 40000, dstPort: 443, tcpFlags: 0x12, vlan: -1 } });
      expect(decode({ ...tcp, src: '2001:db8::1', dst: '2001:db8:0:0:1::2', link })).toMatchObject({ src: '2001:db8::1', dst: '2001:db8::1:0:0:2', packet: { ipVersion: 6, srcPort: 40000 } });
    });
  }

  it('takes the wire length, not the captured one', () => {
    expect(decode(tcp)).toMatchObject({ packet: { length: 14 + 20 + 20 + 4 } });
  });

  it('802.1Q: the VLAN id; QinQ (802.1ad outer tag): the outer id', () => {
    expect(decode({ ...tcp, vlan: 42 })).toMatchObject({ packet: { vlan: 42, srcPort: 40000 } });
    expect(decode({ ...tcp, vlan: [7, 300] })).toMatchObject({ packet: { vlan: 7, srcPort: 40000 } });
  });
});

describe('IP', () => {
  it('IPv4 options move the transport header', () => {
    expect(decode({ ...tcp, ipOptions: 12 })).toMatchObject({ packet: { srcPort: 40000, dstPort: 443, tcpFlags: 0x12 } });
  });

  it('IPv6 extension headers are skipped to the transport header', () => {
    expect(decode({ ...tcp, src: 'fd00::1', dst: 'fd00::2', ipv6Extensions: ['hop-by-hop', 'routing', 'destination'] }))
      .toMatchObject({ packet: { protocol: 6, srcPort: 40000, dstPort: 443 } });
  });

  it('ICMP and ICMPv6 have no ports', () => {
    expect(decode({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 'icmp' })).toMatchObject({ packet: { protocol: 1, srcPort: 0, dstPort: 0 } });
    expect(decode({ src: 'fe80::1', dst: 'ff02::1', protocol: 'icmp' })).toMatchObject({ dst: 'ff02::1', packet: { protocol: 58, ipVersion: 6, srcPort: 0 } });
  });

  for (const [family, src, dst] of [['IPv4', '10.0.0.1', '10.0.0.2'], ['IPv6', 'fd00::1', 'fd00::2']] as const) {
    it(`${family} fragments: only the first has ports; the others count with them`, () => {
      const udp = { src, dst, protocol: 'udp', sport: 5353, dport: 16100, payload: 64 } as const;
      const fragments = new FragmentPorts();
      expect(decode({ ...udp, fragment: { id: 77, offset: 0, more: true } }, fragments)).toMatchObject({ packet: { protocol: 17, srcPort: 5353, dstPort: 16100 } });
      expect(decode({ ...udp, fragment: { id: 77, offset: 72, more: true } }, fragments)).toMatchObject({ packet: { protocol: 17, srcPort: 5353, dstPort: 16100 } });
      expect(decode({ ...udp, fragment: { id: 77, offset: 144, more: false } }, fragments)).toMatchObject({ packet: { srcPort: 5353 } });
      // The last fragment ended the datagram; one whose first fragment was never seen has no ports.
      expect(decode({ ...udp, fragment: { id: 77, offset: 72, more: false } }, fragments)).toMatchObject({ packet: { protocol: 17, srcPort: 0, dstPort: 0 } });
    });
  }
});

describe('frames it cannot use come back as reasons', () => {
  it('non-IP, truncated, bad IP header, unknown link type', () => {
    const packet = newDecodedPacket();
    const arp = arpFrame();
    expect(decodeFrame(arp, 0, arp.length, arp.length, DLT.EN10MB, packet)).toBe('non-ip');
    const f = frame(tcp);
    expect(decodeFrame(f, 0, 20, f.length, DLT.EN10MB, packet)).toBe('truncated');
    expect(decodeFrame(f, 0, 14 + 20 + 10, f.length, DLT.EN10MB, packet)).toBe('truncated'); // TCP flags cut off
    expect(decodeFrame(frame({ ...tcp, vlan: 5 }), 0, 16, 60, DLT.EN10MB, packet)).toBe('truncated');
    const bad = Buffer.from(f);
    bad[14] = 0x42; // IPv4 with a 8-byte header
    expect(decodeFrame(bad, 0, bad.length, bad.length, DLT.EN10MB, packet)).toBe('bad-ip-header');
    expect(decodeFrame(f, 0, f.length, f.length, 147, packet)).toBe('unsupported-link-type');
  });

  it('never throws on random bytes', () => {
    const packet = newDecodedPacket();
    const fragments = new FragmentPorts(16);
    let seed = 1;
    const random = () => ((seed = Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32;
    for (let i = 0; i < 4_000; i++) {
      const b = Buffer.from(frame({ ...tcp, src: i % 2 ? 'fd00::1' : '10.0.0.1', dst: i % 2 ? 'fd00::2' : '10.0.0.2' }));
      for (let k = 0; k < 6; k++) b[Math.floor(random() * b.length)] = Math.floor(random() * 256);
      const caplen = Math.floor(random() * (b.length + 1));
      for (const dlt of Object.values(DLT)) expect(() => decodeFrame(b, 0, caplen, b.length, dlt, packet, fragments)).not.toThrow();
    }
  });
});
