// Live capture on real devices: lo, and the root end of a veth pair into a network
// namespace this test creates (traffic only between the pair's own addresses). Also
// what a user sees when the capture cannot keep up, or cannot start at all.
import { execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer, connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { PacketInterface } from '../../src/interfaces/packet-interface.ts';
import { TSX_LOADER } from '../../src/runtime/ts-worker.ts';
import { withVethPair } from '../support/netns.ts';
import { describeAsRoot } from '../support/privileges.ts';
import { waitFor } from '../support/wait.ts';

const running: PacketInterface[] = [];
const servers: { close(): unknown }[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop()));
  for (const s of servers.splice(0)) s.close();
});

async function capture(options: ConstructorParameters<typeof PacketInterface>[0]): Promise<PacketInterface> {
  const iface = new PacketInterface(options);
  running.push(iface);
  await iface.start();
  return iface;
}

/** A TCP service that answers each request with ten times as many bytes, then closes. */
async function tenfoldServer(port: number, host: string): Promise<void> {
  const server = createServer((s) => s.on('data', (d) => s.end(Buffer.alloc(d.length * 10, 1))));
  servers.push(server);
  await new Promise<void>((r) => server.listen(port, host, r));
}

/** The pid of this process's capture child (to stall it). */
function captureProcessPid(): number {
  const lines = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)]).toString().split('\n');
  return Number(lines.find((l) => l.includes('capture-process.ts'))!.trim().split(/\s+/)[0]);
}

describeAsRoot('live capture', 'open capture devices, create network namespaces and switch to user nobody', () => {
  it('builds flows from real TCP and UDP traffic on lo, both directions counted', async () => {
    const lo = await capture({ id: 1, name: 'lo', device: 'lo', filter: 'port 16010 or port 16011', flowTable: { maxFlows: 1000 } });
    await tenfoldServer(16010, '127.0.0.1');
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
    expect(tcp.tcp?.flags).toContain('FIN');
    // Kernel timestamps, not the time the flow table saw the batch.
    expect(tcp.firstSeen).toBeLessThanOrEqual(tcp.lastSeen);
    const udpFlow = lo.flows.query({ port: 16011 }).flows[0];
    expect(udpFlow).toMatchObject({ protocolName: 'UDP', server: { port: 16011 }, clientToServer: { packets: 1 }, serverToClient: { packets: 1 } });
    // Each packet once (loopback shows every packet sent and received).
    await waitFor(() => lo.capture().packets === tcp.packets + 2);
    expect(lo.capture()).toMatchObject({ kernelDrops: 0, errors: {} });
    udp.close();
    peer.close();
  });

  it('keeps counting across a reopen for a sink that needs whole packets (recording switched on)', async () => {
    const lo = await capture({ id: 1, name: 'lo', device: 'lo', filter: 'udp port 16012', flowTable: { maxFlows: 1000 } });
    const peer = createSocket('udp4');
    const send = async (n: number) => {
      for (let i = 0; i < n; i++) await new Promise<void>((r) => peer.send(Buffer.alloc(300, i), 16012, '127.0.0.1', () => r()));
    };
    await send(5);
    await waitFor(() => lo.capture().packets === 5, 'the first five packets counted');
    const dir = mkdtempSync(join(tmpdir(), 'fb-reopen-'));
    try {
      await lo.setRecording({ dir, maxDiskBytes: 64 * 1024 * 1024, maxFileBytes: 16 * 1024 * 1024, maxFileSeconds: 60, snaplen: 65535 });
      expect(lo.status()).toMatchObject({ state: 'running' });
      await send(5);
      // The capture process was replaced to take whole packets: the interface's count goes on from 5.
      await waitFor(() => lo.capture().packets === 10, 'ten packets counted across the reopen');
      await waitFor(() => lo.recording().packets === 5, 'the five later packets recorded');
    } finally {
      peer.close();
      // Stopped first: the writer completes its file before the directory goes.
      await lo.stop();
      rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
    }
  });

  it('captures on a veth end: traffic from a namespace, oriented and counted both ways', async () => {
    await withVethPair(`v${process.pid % 1000}`, '10.213.161', { prefix: 'fbif' }, async (veth) => {
      const iface = await capture({ id: 2, name: veth.hostIf, device: veth.hostIf });
      await tenfoldServer(16030, veth.hostIp);
      const udp = createSocket('udp4');
      servers.push(udp);
      await new Promise<void>((r) => udp.bind(16031, veth.hostIp, r));
      udp.on('message', (m, rinfo) => udp.send(m, rinfo.port, rinfo.address));
      await veth.exec([process.execPath, '-e', `
        const s = require('net').connect({ host: '${veth.hostIp}', port: 16030, localPort: 16032 }, () => s.write('x'.repeat(200)));
        s.on('data', () => {}); s.on('end', () => s.end());
        const u = require('dgram').createSocket('udp4');
        u.bind(16033, () => u.send('ping', 16031, '${veth.hostIp}'));
        u.on('message', () => u.close());`]);

      await waitFor(() => iface.flows.query({ port: 16032 }).flows[0]?.closed && iface.flows.query({ port: 16033 }).flows[0]?.packets === 2);
      expect(iface.flows.query({ port: 16032 }).flows[0]).toMatchObject({
        client: { ip: veth.nsIp, port: 16032 }, server: { ip: veth.hostIp, port: 16030 },
        clientToServer: { bytes: expect.any(Number) }, serverToClient: { bytes: expect.any(Number) },
      });
      const tcp = iface.flows.query({ port: 16032 }).flows[0];
      expect(tcp.serverToClient.bytes).toBeGreaterThan(2000);
      expect(tcp.clientToServer.bytes).toBeGreaterThan(200);
      expect(iface.flows.query({ port: 16033 }).flows[0]).toMatchObject({ client: { ip: veth.nsIp, port: 16033 }, server: { ip: veth.hostIp, port: 16031 } });
      // The namespace asked for the host's MAC address first: ARP is not IP, and is counted as such.
      await waitFor(() => (iface.capture().errors['non-ip'] ?? 0) >= 1, 'ARP counted as non-ip');
      await iface.stop();
    });
  });

  it('counts the packets the kernel dropped while the capture could not keep up', async () => {
    // A small kernel ring and a capture process held still while packets arrive.
    const lo = await capture({ id: 1, name: 'lo', device: 'lo', filter: 'udp dst port 16040', bufferBytes: 1 << 20 });
    const pid = captureProcessPid();
    const SENT = 20_000;
    process.kill(pid, 'SIGSTOP');
    try {
      await new Promise<void>((resolve, reject) => {
        const sender = spawn(process.execPath, ['-e', `
          const s = require('dgram').createSocket('udp4');
          let left = ${SENT};
          const burst = () => { for (let i = 0; i < 500 && left > 0; i++, left--) s.send('x', 16040, '127.0.0.1'); if (left > 0) setImmediate(burst); else s.close(); };
          burst();`], { stdio: 'ignore' });
        sender.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`sender exited ${code}`))));
      });
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await waitFor(() => (lo.capture().kernelDrops ?? 0) > 0 && lo.capture().packets + lo.capture().kernelDrops! >= SENT * 0.9, 'drops counted');
    const c = lo.capture();
    expect(c.packets).toBeGreaterThan(0);
    expect(c.packets + c.kernelDrops!).toBeLessThanOrEqual(SENT);
    await waitFor(() => lo.flows.query({ port: 16040, limit: 1000 }).flows.reduce((n, f) => n + f.packets, 0) === lo.capture().packets);
  });

  it('reports a device that does not exist, naming it, without throwing past start()', async () => {
    const eth9 = new PacketInterface({ id: 2, name: 'fbifnosuch0', device: 'fbifnosuch0' });
    await expect(eth9.start()).rejects.toThrow(/cannot open capture on fbifnosuch0: .*No such device/);
    expect(eth9.status()).toEqual({ state: 'error', error: expect.stringMatching(/^cannot open capture on fbifnosuch0: /) });
    expect(eth9.capture()).toEqual({ packets: 0, bytes: 0, errors: {} });
  });

  it('reports a device it may not capture on (no permission), naming it', async () => {
    const script = `
      const { PacketInterface } = await import(${JSON.stringify(new URL('../../src/interfaces/packet-interface.ts', import.meta.url).href)});
      const lo = new PacketInterface({ id: 1, name: 'lo', device: 'lo' });
      await lo.start().catch(() => {});
      console.log(JSON.stringify(lo.status()));`;
    const out = execFileSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, '--import', TSX_LOADER, '--input-type=module', '-e', script], { cwd: '/' }).toString();
    expect(JSON.parse(out)).toEqual({ state: 'error', error: expect.stringMatching(/^cannot open capture on lo: .*(permission|not permitted)/i) });
  });
});
