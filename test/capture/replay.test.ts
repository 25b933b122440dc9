// `pcap:<file>` interfaces: capture files the tests write with crafted packets,
// replayed through libpcap into a real packet interface (capture process included).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { PacketInterface, type PacketInterfaceOptions } from '../../src/interfaces/packet-interface.ts';
import { arpFrame, frame, LINKTYPE, writePcap, writePcapng, type TimedFrame } from '../support/pcap-writer.ts';

const dir = mkdtempSync(join(tmpdir(), 'fbif-replay-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const running: PacketInterface[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop()));
});

let files = 0;
async function replay(frames: (Buffer | TimedFrame)[], options: { linktype?: number; pcapng?: boolean } & Partial<PacketInterfaceOptions> = {}) {
  const { linktype, pcapng, ...rest } = options;
  const file = join(dir, `t${files++}.${pcapng ? 'pcapng' : 'pcap'}`);
  (pcapng ? writePcapng : writePcap)(file, frames, linktype);
  const iface = new PacketInterface({ id: 1, name: `pcap:${file}`, file, flowTable: { maxFlows: 1000 }, ...rest });
  running.push(iface);
  await iface.start();
  await iface.replayed();
  return iface;
}

describe('pcap: replay', () => {
  it('decodes VLAN and QinQ tags, IPv6, UDP and ICMP into flows', async () => {
    const iface = await replay([
      frame({ src: '10.1.0.1', dst: '10.1.0.2', protocol: 'tcp', sport: 40000, dport: 80, flags: 'S', vlan: 100 }),
      frame({ src: '10.1.0.2', dst: '10.1.0.1', protocol: 'tcp', sport: 80, dport: 40000, flags: 'SA', vlan: 100 }),
      frame({ src: '10.2.0.1', dst: '10.2.0.2', protocol: 'udp', sport: 5000, dport: 53, payload: 20, vlan: [7, 200] }),
      frame({ src: '2001:db8::1', dst: '2001:db8:0:0:0:0:0:2', protocol: 'tcp', sport: 41000, dport: 443, flags: 'S' }),
      frame({ src: '10.3.0.1', dst: '10.3.0.2', protocol: 'icmp' }),
      frame({ src: 'fe80::1', dst: 'fe80::2', protocol: 'icmp' }),
    ]);
    expect(iface.capture()).toEqual({ packets: 6, bytes: expect.any(Number), errors: {} });
    const flows = iface.flows.query({ limit: 10 }).flows;
    expect(flows).toHaveLength(5);
    expect(flows.find((f) => f.server.port === 80)).toMatchObject({ vlan: 100, client: { ip: '10.1.0.1', port: 40000 }, packets: 2, tcp: { flags: 'SYN,ACK' } });
    expect(flows.find((f) => f.protocol === 17)).toMatchObject({ vlan: 7, client: { port: 5000 }, server: { port: 53 } });
    expect(flows.find((f) => f.protocol === 6 && f.ipVersion === 6)).toMatchObject({ client: { ip: '2001:db8::1' }, server: { ip: '2001:db8::2', port: 443 } });
    expect(flows.find((f) => f.protocolName === 'ICMP')).toMatchObject({ client: { ip: '10.3.0.1' } });
    expect(flows.find((f) => f.protocolName === 'ICMPv6')).toMatchObject({ client: { ip: 'fe80::1' }, server: { ip: 'fe80::2' } });
  });

  for (const [link, linktype] of [['sll', LINKTYPE.LINUX_SLL], ['sll2', LINKTYPE.LINUX_SLL2], ['raw', LINKTYPE.RAW], ['null', LINKTYPE.NULL]] as const) {
    it(`reads ${link} captures`, async () => {
      const udp = frame({ src: '192.0.2.1', dst: '192.0.2.2', protocol: 'udp', sport: 1234, dport: 5678, payload: 10, link });
      const v6 = frame({ src: 'fd00::1', dst: 'fd00::2', protocol: 'tcp', sport: 40000, dport: 22, flags: 'S', link });
      const iface = await replay([udp, v6], { linktype });
      expect(iface.capture()).toMatchObject({ packets: 2, bytes: udp.length + v6.length, errors: {} });
      expect(iface.flows.query({ port: 5678 }).flows[0]).toMatchObject({ client: { ip: '192.0.2.1', port: 1234 }, bytes: udp.length });
      expect(iface.flows.query({ port: 22 }).flows[0]).toMatchObject({ ipVersion: 6, client: { ip: 'fd00::1' } });
    });
  }

  it('reads pcapng files too', async () => {
    const iface = await replay([frame({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 'udp', sport: 40000, dport: 53 })], { pcapng: true });
    expect(iface.flows.query({}).flows[0]).toMatchObject({ server: { port: 53 }, packets: 1 });
  });

  it("keeps the file's timestamps", async () => {
    const t0 = Date.UTC(2024, 0, 2, 3, 4, 5, 678);
    const iface = await replay([
      { frame: frame({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 'udp', sport: 40000, dport: 53 }), time: t0 },
      { frame: frame({ src: '10.0.0.2', dst: '10.0.0.1', protocol: 'udp', sport: 53, dport: 40000 }), time: t0 + 1500.25 },
    ]);
    expect(iface.flows.query({}).flows[0]).toMatchObject({ firstSeen: t0, lastSeen: t0 + 1500.25 });
  });

  it('counts IPv4 fragments in the flow of their first fragment', async () => {
    const udp = { src: '10.0.0.1', dst: '10.0.0.2', protocol: 'udp', sport: 4000, dport: 16100, payload: 64 } as const;
    const iface = await replay([
      frame({ ...udp, fragment: { id: 9, offset: 0, more: true } }),
      frame({ ...udp, fragment: { id: 9, offset: 72, more: false } }),
    ]);
    expect(iface.flows.query({}).flows).toEqual([expect.objectContaining({ client: { ip: '10.0.0.1', port: 4000 }, packets: 2 })]);
  });

  it('applies a BPF filter with libpcap', async () => {
    const iface = await replay([
      frame({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 'tcp', sport: 1000, dport: 443, flags: 'S' }),
      frame({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 'udp', sport: 1000, dport: 53 }),
    ], { filter: 'udp port 53' });
    expect(iface.flows.query({}).flows.map((f) => f.protocol)).toEqual([17]);
    expect(iface.capture().packets).toBe(1);
  });

  it('counts frames it cannot use by reason, and every packet is either in a flow or counted', async () => {
    const good = frame({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 'udp', sport: 1, dport: 2 });
    const truncated = frame({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 'tcp', sport: 1, dport: 2 }).subarray(0, 20);
    const iface = await replay([truncated, arpFrame(), good, good]);
    expect(iface.capture()).toMatchObject({ packets: 4, errors: { truncated: 1, 'non-ip': 1 } });
    const inFlows = iface.flows.query({}).flows.reduce((n, f) => n + f.packets, 0);
    expect(inFlows + 2).toBe(4);
  });

  it('counts the packets of new flows a full hand-off batch could not take', async () => {
    const frames = Array.from({ length: 10 }, (_, i) => frame({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 'udp', sport: 40000 + i, dport: 53 }));
    const iface = await replay(frames, { maxBatchFlows: 4 });
    expect(iface.capture()).toMatchObject({ packets: 10, errors: { 'batch-full': 6 } });
    expect(iface.flows.stats().active).toBe(4);
  });

  it('keeps what it read from a file cut short, and counts the damage', async () => {
    const iface0 = join(dir, 'cut.pcap');
    writePcap(iface0, [0, 1, 2].map((i) => frame({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 'udp', sport: 100 + i, dport: 53 })));
    const bytes = readFileSync(iface0);
    writeFileSync(iface0, bytes.subarray(0, bytes.length - 10));
    const iface = new PacketInterface({ id: 1, name: 'cut', file: iface0 });
    running.push(iface);
    await iface.start();
    await iface.replayed();
    expect(iface.capture()).toMatchObject({ packets: 2, errors: { 'file-truncated': 1 } });
    expect(iface.flows.stats().active).toBe(2);
  });

  it('stays up after the end of the file, showing its flows however old', async () => {
    const iface = await replay([
      frame({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 'tcp', sport: 40000, dport: 80, flags: 'S' }),
      frame({ src: '10.0.0.2', dst: '10.0.0.1', protocol: 'tcp', sport: 80, dport: 40000, flags: 'R' }),
    ], { flowTable: { idleTimeoutMs: 1_000, closedGraceMs: 1_000 } });
    iface.flows.expire(Date.now() + 3_600_000);
    expect(iface.status()).toEqual({ state: 'running' });
    expect(iface.flows.query({}).flows[0]).toMatchObject({ closed: true, packets: 2 });
    await iface.start(); // already running: not replayed twice
    expect(iface.flows.query({}).flows[0].packets).toBe(2);
  });

  it('replays at the pace of the file when asked, with the same result', async () => {
    const t0 = Date.now() - 60_000;
    const iface = await replay([0, 150, 300].map((ms, i) => ({ frame: frame({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 'udp', sport: 40000 + i, dport: 53 }), time: t0 + ms })), { pace: true });
    expect(iface.flows.query({}).flows.map((f) => f.firstSeen).sort()).toEqual([t0, t0 + 150, t0 + 300]);
  });

  it('says clearly when a file or a filter is wrong', async () => {
    const missing = new PacketInterface({ id: 1, name: 'pcap:/nope', file: '/nonexistent/trace.pcap' });
    await expect(missing.start()).rejects.toThrow(/cannot replay \/nonexistent\/trace.pcap: .*No such file/);
    expect(missing.status()).toMatchObject({ state: 'error' });
    const notPcap = join(dir, 'text.pcap');
    writeFileSync(notPcap, 'hello, this is not a capture\n');
    await expect(new PacketInterface({ id: 1, name: 'x', file: notPcap }).start()).rejects.toThrow(/cannot replay .*text.pcap: unknown file format/);
    const file = join(dir, 'ok.pcap');
    writePcap(file, []);
    const badFilter = new PacketInterface({ id: 1, name: 'x', file, filter: 'port banana' });
    await expect(badFilter.start()).rejects.toThrow(/BPF filter "port banana"/);
    const wifi = join(dir, 'radiotap.pcap');
    writePcap(wifi, [Buffer.alloc(40)], 127);
    await expect(new PacketInterface({ id: 1, name: 'x', file: wifi }).start()).rejects.toThrow(/link type 127 is not supported/);
  });
});
