// Push targets on real traffic: a veth pair into a namespace this test creates, traffic
// from the namespace to this side, and three targets on one interface created over
// REST: every packet in 2-s splits, only the subnet's TCP in 2-s splits, and every
// packet in 20 kB splits. tshark reads every file back.
import { readdirSync, statSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startWithFlags } from '../support/flowbridge.ts';
import { createVethPair, type VethPair } from '../support/netns.ts';
import { describeAsRoot } from '../support/privileges.ts';
import { waitFor } from '../support/wait.ts';
import { tempDir, tsharkRead, type TsharkPacket } from '../recording/support.ts';

const UDP_PORT = 16601;
const TCP_PORT = 16602;
const SUBNET = '10.213.171';

describeAsRoot('push targets on a veth pair', 'create a network namespace and capture on its veth', () => {
  let fb: Awaited<ReturnType<typeof startWithFlags>>;
  let veth: VethPair;
  const out = tempDir('push-out');
  const datagrams = 60;
  const tcpBytes = 30_000;

  beforeAll(async () => {
    veth = createVethPair(`p${process.pid % 1000}`, SUBNET, { prefix: 'fbpu' });
    fb = await startWithFlags(['-i', veth.hostIf]);
    await waitFor(async () => ((await (await fb.api('/api/v1/interfaces/0')).json()) as { status: { state: string } }).status.state === 'running', 'the capture to open');
  });
  afterAll(async () => {
    await fb?.stop();
    veth?.remove();
  });

  const create = (body: object) => fb.api('/api/v1/push-targets', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('refuses targets it cannot run, naming them, and changes nothing', async () => {
    const base = { desc: 'bad', mode: 'FILE', path: join(out, 'bad', 'x'), split: '--split-time 2e9', interface: veth?.hostIf ?? 'x' };
    const cases: [object, number, RegExp][] = [
      [{ ...base, split: '--split-time 0' }, 400, /push target bad: split "--split-time 0"/],
      [{ ...base, filterBpf: 'port banana' }, 400, /push target bad: BPF filter "port banana"/],
      [{ ...base, interface: 'eth77' }, 400, /interface "eth77" is not a packet interface of this collector/],
      [{ ...base, path: '/proc/push/all' }, 400, /cannot write to \/proc\/push\/ \(ENOENT/],
      [{ ...base, mode: 'RCLONE', path: 'nosuchremote:pcap/all' }, 400, /rclone remote "nosuchremote" does not exist/],
      [{ ...base, fileName: '--filename-iso' }, 400, /is not one of --filename-epoch-sec-startend/],
    ];
    for (const [body, status, message] of cases) {
      const r = await create(body);
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(((await r.json()) as { error: string }).error).toMatch(message);
    }
    expect(((await (await fb.api('/api/v1/push-targets')).json()) as { targets: unknown[] }).targets).toEqual([]);
  });

  it('splits every packet into aligned 2-s files, the subnet\'s TCP into its own, and 20 kB files never over their size', async () => {
    const targets = [
      { desc: 'pcap-all', mode: 'FILE', path: join(out, 'all', 'all'), split: '--split-time 2e9', fileName: '--filename-epoch-sec-startend', filterBpf: null, interface: veth.hostIf },
      { desc: 'pcap-tcp', mode: 'File', path: join(out, 'tcp') + '/', split: '--split-time 2e9', fileName: '--filename-epoch-sec-startend', filterBpf: `net ${SUBNET}.0/24 and tcp`, interface: veth.hostIf },
      { desc: 'pcap-bytes', mode: 'file', path: join(out, 'bytes', 'b'), split: '--split-byte 20000', fileName: '--filename-tstr-HHMMSS_NS', filterBpf: null, interface: veth.hostIf },
    ];
    for (const t of targets) expect((await create(t)).status).toBe(201);
    expect((await create(targets[0])).status).toBe(409);

    // The namespace sends a datagram every 80 ms for ~5 s (crossing 2-s boundaries) and one TCP connection.
    const server = createServer((s) => {
      s.on('data', () => {});
      s.on('end', () => s.end());
    });
    await new Promise<void>((r) => server.listen(TCP_PORT, veth.hostIp, r));
    // A listener for the datagrams: without one, the host would answer with ICMP errors quoting them.
    const sink = createSocket('udp4');
    await new Promise<void>((r) => sink.bind(UDP_PORT, veth.hostIp, r));
    await veth.exec([process.execPath, '-e', `
      const u = require('dgram').createSocket('udp4');
      let i = 0;
      const t = setInterval(() => {
        const b = Buffer.alloc(200 + i, 97 + (i % 26)); b.write('D' + i + ':');
        u.send(b, ${UDP_PORT}, '${veth.hostIp}');
        if (++i === ${datagrams}) { clearInterval(t); setTimeout(() => u.close(), 100); }
      }, 80);
      const c = require('net').connect(${TCP_PORT}, '${veth.hostIp}', () => c.end(Buffer.alloc(${tcpBytes}, 120)));
      c.on('data', () => {});
    `], 20_000);
    server.close();
    sink.close();
    // Every split closes at most a second after its window.
    await waitFor(async () => {
      const view = (await (await fb.api('/api/v1/push-targets/pcap-all')).json()) as { stats: { currentFile?: string; files: number } };
      return view.stats.files >= 3 && view.stats.currentFile === undefined;
    }, 'the time splits to close', 15_000);
    // The byte split's last file closes when the target is deleted.
    expect((await fb.api('/api/v1/push-targets/pcap-bytes', { method: 'DELETE' })).status).toBe(204);

    const files = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.pcap')).sort();
    const read = (dir: string) => files(dir).flatMap((n) => tsharkRead(join(dir, n)));
    const sentUdp = Array.from({ length: datagrams }, (_, i) => {
      const b = Buffer.alloc(200 + i, 97 + (i % 26));
      b.write(`D${i}:`);
      return b;
    });
    const udpOf = (packets: TsharkPacket[]) => packets.filter((p) => p.protocol === 'udp' && p.dstPort === UDP_PORT).map((p) => p.payload);
    const tcpPayload = (packets: TsharkPacket[]) => Buffer.concat(packets.filter((p) => p.protocol === 'tcp' && p.dstPort === TCP_PORT).map((p) => p.payload));

    // All: aligned, contiguous 2-s windows named start-end, together every packet.
    const allDir = join(out, 'all');
    const names = files(allDir);
    expect(readdirSync(allDir).filter((n) => n.endsWith('.part'))).toEqual([]);
    const windows = names.map((n) => /^all_(\d+)-(\d+)\.pcap$/.exec(n)!).map((m) => [Number(m[1]), Number(m[2])]);
    expect(windows.length).toBeGreaterThanOrEqual(3);
    for (const [start, end] of windows) {
      expect(end - start).toBe(2);
      expect(start % 2).toBe(0);
    }
    for (let i = 1; i < windows.length; i++) expect(windows[i][0]).toBe(windows[i - 1][1]);
    const all = read(allDir);
    expect(udpOf(all)).toEqual(sentUdp);
    expect(tcpPayload(all)).toEqual(Buffer.alloc(tcpBytes, 120));
    for (const n of names) {
      const [, start, end] = /^all_(\d+)-(\d+)\.pcap$/.exec(n)!.map(Number);
      for (const p of tsharkRead(join(allDir, n))) expect(p.epochNs >= BigInt(start) * 1_000_000_000n && p.epochNs < BigInt(end) * 1_000_000_000n).toBe(true);
    }

    // TCP of the subnet only, in a plain directory.
    const tcp = read(join(out, 'tcp'));
    expect(files(join(out, 'tcp')).every((n) => /^\d+-\d+\.pcap$/.test(n))).toBe(true);
    expect(tcp.every((p) => p.protocol === 'tcp')).toBe(true);
    expect(tcpPayload(tcp)).toEqual(Buffer.alloc(tcpBytes, 120));

    // Byte splits: never over 20000 bytes, named by their first packet, together every packet.
    const bytesDir = join(out, 'bytes');
    expect(files(bytesDir).length).toBeGreaterThan(2);
    for (const n of files(bytesDir)) {
      expect(n).toMatch(/^b_\d{8}_\d{6}\.\d{3}\.\d{3}\.\d{3}(_\d+)?\.pcap$/);
      expect(statSync(join(bytesDir, n)).size).toBeLessThanOrEqual(20_000);
    }
    const bytes = read(bytesDir);
    expect(udpOf(bytes)).toEqual(sentUdp);
    expect(tcpPayload(bytes)).toEqual(Buffer.alloc(tcpBytes, 120));

    // The stats and the log say what was pushed, as FMADIO's log does.
    const view = (await (await fb.api('/api/v1/push-targets/pcap-tcp')).json()) as { stats: { packets: number; filteredOut: number; files: number } };
    expect(view.stats.packets).toBe(tcp.length);
    expect(view.stats.filteredOut).toBeGreaterThanOrEqual(datagrams);
    const log = (await (await fb.api('/api/v1/push-targets/pcap-all/log')).json()) as { file: string; lines: string[] };
    expect(log.file).toMatch(/^push_pcap-all_\d{8}_\d{4}$/);
    expect(log.lines.some((l) => /^\[\d+\.\d{3} H\]\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] \S+\/all_\d+-\d+\.pcap : Total Bytes \d+\.\d{3} GB Speed: \d+\.\d{3}Gbps : New Split$/.test(l))).toBe(true);
  });
});
