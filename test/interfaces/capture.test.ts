// Packet interfaces on real captures: capture files replayed through libpcap, live
// capture on lo, and the error a device that cannot be opened gives.
import { createSocket } from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PacketInterface } from '../../src/interfaces/packet-interface.ts';
import { frame, writePcap } from '../support/pcap-writer.ts';
import { waitFor } from '../support/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'fb-capture-'));
const running: PacketInterface[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop()));
});

async function replay(name: string, frames: Buffer[], options: { dlt?: number; filter?: string } = {}) {
  const file = join(dir, `${name}.pcap`);
  writePcap(file, frames, options.dlt);
  const iface = new PacketInterface({ id: 1, name: `pcap:${file}`, file, filter: options.filter, flowTable: { maxFlows: 1000 } });
  running.push(iface);
  await iface.start();
  await iface.replayed();
  return iface;
}

describe('pcap: replay', () => {
  it('decodes VLAN and QinQ tags, IPv6, UDP and ICMP into flows', async () => {
    const iface = await replay('mixed', [
      frame({ src: '10.1.0.1', dst: '10.1.0.2', protocol: 'tcp', sport: 40000, dport: 80, flags: 'S', vlan: 100 }),
      frame({ src: '10.1.0.2', dst: '10.1.0.1', protocol: 'tcp', sport: 80, dport: 40000, flags: 'SA', vlan: 100 }),
      frame({ src: '10.2.0.1', dst: '10.2.0.2', protocol: 'udp', sport: 5000, dport: 53, payload: 20, vlan: [7, 200] }),
      frame({ src: '2001:db8::1', dst: '2001:db8:0:0:0:0:0:2', protocol: 'tcp', sport: 41000, dport: 443, flags: 'S' }),
      frame({ src: '10.3.0.1', dst: '10.3.0.2', protocol: 'icmp' }),
    ]);
    expect(iface.capture()).toMatchObject({ packets: 5, errors: {} });
    const flows = iface.flows.query({ limit: 10 }).flows;
    expect(flows).toHaveLength(4);
    expect(flows.find((f) => f.server.port === 80)).toMatchObject({ vlan: 100, client: { ip: '10.1.0.1', port: 40000 }, packets: 2, tcp: { flags: 'SYN,ACK' } });
    expect(flows.find((f) => f.protocol === 17)).toMatchObject({ vlan: 7, client: { port: 5000 }, server: { port: 53 } });
    expect(flows.find((f) => f.ipVersion === 6)).toMatchObject({ client: { ip: '2001:db8::1' }, server: { ip: '2001:db8::2', port: 443 } });
    expect(flows.find((f) => f.protocolName === 'ICMP')).toBeDefined();
  });

  it('reads Linux cooked captures (SLL)', async () => {
    const iface = await replay('sll', [frame({ src: '192.0.2.1', dst: '192.0.2.2', protocol: 'udp', sport: 1234, dport: 5678, payload: 10, link: 'sll' })], { dlt: 113 });
    expect(iface.flows.query({}).flows[0]).toMatchObject({ client: { ip: '192.0.2.1', port: 1234 }, bytes: 16 + 20 + 8 + 10 });
  });

  it('applies a BPF filter with libpcap', async () => {
    const iface = await replay('filtered', [
      frame({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 'tcp', sport: 1000, dport: 443, flags: 'S' }),
      frame({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 'udp', sport: 1000, dport: 53 }),
    ], { filter: 'udp port 53' });
    expect(iface.flows.query({}).flows.map((f) => f.protocol)).toEqual([17]);
  });

  it('counts frames it cannot decode instead of failing', async () => {
    const truncated = frame({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 'tcp', sport: 1, dport: 2 }).subarray(0, 20);
    const iface = await replay('bad', [truncated, frame({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 'udp', sport: 1, dport: 2 })]);
    expect(iface.capture()).toMatchObject({ packets: 2, errors: { truncated: 1 } });
    expect(iface.flows.stats().active).toBe(1);
  });

  it('says clearly when a file or a filter is wrong', async () => {
    const missing = new PacketInterface({ id: 1, name: 'pcap:/nope', file: '/nonexistent/trace.pcap' });
    await expect(missing.start()).rejects.toThrow(/cannot replay \/nonexistent\/trace.pcap: .*No such file/);
    expect(missing.status()).toMatchObject({ state: 'error' });
    const file = join(dir, 'ok.pcap');
    writePcap(file, []);
    const badFilter = new PacketInterface({ id: 1, name: 'x', file, filter: 'port banana' });
    await expect(badFilter.start()).rejects.toThrow(/BPF filter "port banana"/);
  });
});

describe('live capture', () => {
  it('builds flows from real TCP and UDP traffic on lo, both directions counted', async () => {
    const lo = new PacketInterface({ id: 1, name: 'lo', device: 'lo', filter: 'port 16010 or port 16011', flowTable: { maxFlows: 1000 } });
    running.push(lo);
    await lo.start();
    const server = createServer((s) => s.on('data', (d) => s.end(Buffer.alloc(d.length * 10, 1))));
    await new Promise<void>((r) => server.listen(16010, '127.0.0.1', r));
    const clientPort = await new Promise<number>((resolve) => {
      let port = 0;
      const c = connect(16010, '127.0.0.1', () => {
        port = c.localPort!;
        c.write(Buffer.alloc(100, 2));
      });
      c.on('data', () => {});
      c.on('close', () => resolve(port));
      c.on('end', () => c.end());
    });
    const udp = createSocket('udp4');
    await new Promise<void>((r) => udp.bind(16011, '127.0.0.1', r));
    udp.on('message', (m, rinfo) => udp.send(m, rinfo.port, rinfo.address));
    const peer = createSocket('udp4');
    await new Promise<void>((r) => peer.send(Buffer.alloc(50), 16011, '127.0.0.1', () => r()));

    await waitFor(() => lo.flows.query({ port: 16010 }).flows[0]?.closed && lo.flows.query({ port: 16011 }).flows[0]?.packets === 2);
    const tcp = lo.flows.query({ port: 16010 }).flows[0];
    expect(tcp).toMatchObject({ client: { ip: '127.0.0.1', port: clientPort }, server: { ip: '127.0.0.1', port: 16010 }, seenBy: ['packets'], closed: true });
    expect(tcp.clientToServer.bytes).toBeGreaterThan(100);
    expect(tcp.serverToClient.bytes).toBeGreaterThan(1000);
    const udpFlow = lo.flows.query({ port: 16011 }).flows[0];
    expect(udpFlow).toMatchObject({ protocolName: 'UDP', server: { port: 16011 }, clientToServer: { packets: 1 }, serverToClient: { packets: 1 } });
    expect(lo.capture().packets).toBeGreaterThanOrEqual(tcp.packets + 2);
    server.close();
    udp.close();
    peer.close();
  });

  it('reports a device that does not exist, naming it, without throwing past start()', async () => {
    const eth9 = new PacketInterface({ id: 2, name: 'fbnosuch0', device: 'fbnosuch0' });
    await expect(eth9.start()).rejects.toThrow(/cannot open capture on fbnosuch0: .*No such device/);
    expect(eth9.status()).toEqual({ state: 'error', error: expect.stringMatching(/cannot open capture on fbnosuch0/) });
  });
});
