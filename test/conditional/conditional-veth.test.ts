// Conditional pcap on real traffic: a veth pair into a namespace this test creates,
// echo servers inside it, and three flows from this side (two UDP, one TCP). Alerts
// written to the eve.json the collector follows name one UDP flow by community_id and
// the TCP flow by its 5-tuple seen from the server's side; a second alert on the TCP
// flow comes by POST. tshark reads back every pcap: the triggering packet and every
// later packet of the flow, nothing of another flow, nothing twice. Then the seed's
// REST sequence as a script runs it, and the store rotating at its size bound.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { carriesPackets } from '../../src/api/packet-access.ts';
import { communityId } from '../../src/model/community-id.ts';
import type { ConditionalStats } from '../../src/model/conditional.ts';
import { eveAlert, lines } from '../alerts/support.ts';
import { startWithFlags } from '../support/flowbridge.ts';
import { createVethPair, type VethPair } from '../support/netns.ts';
import { describeAsRoot } from '../support/privileges.ts';
import { waitFor } from '../support/wait.ts';
import { tempDir, tsharkRead, type TsharkPacket } from '../recording/support.ts';

const UDP_ALERTED = 17601;
const TCP_ALERTED = 17602;
const UDP_QUIET = 17603;
const SUBNET = '10.217.176';
const STORE_BYTES = 1024 * 1024;

/** Echo servers inside the namespace: UDP on two ports, TCP on one; prints "ready". */
const SERVERS = `
  const dgram = require('dgram'), net = require('net');
  let up = 0; const ready = () => { if (++up === 3) console.log('ready'); };
  for (const port of [${UDP_ALERTED}, ${UDP_QUIET}]) {
    const s = dgram.createSocket('udp4');
    s.on('message', (m, from) => s.send(Buffer.concat([Buffer.from('echo:'), m]), from.port, from.address));
    s.bind(port, ready);
  }
  net.createServer((c) => { c.on('data', (d) => c.write(Buffer.concat([Buffer.from('echo:'), d]))); c.on('end', () => c.end()); c.on('error', () => {}); }).listen(${TCP_ALERTED}, ready);
`;

describeAsRoot('conditional pcap on a veth pair', 'create a network namespace and capture on its veth', () => {
  let fb: Awaited<ReturnType<typeof startWithFlags>>;
  let veth: VethPair;
  let servers: ChildProcess;
  const dir = tempDir('conditional');
  const eveFile = join(dir, 'eve.json');
  const out = (name: string) => join(dir, name);

  const api = async <T>(path: string, init?: RequestInit): Promise<T> => (await (await fb.api(path, init)).json()) as T;
  const stats = () => api<ConditionalStats>('/api/v1/conditional-pcap');
  const post = (path: string, body: unknown) => fb.api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const patch = (body: unknown) => fb.api('/api/v1/conditional-pcap', { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  /** A UDP client socket on this side. */
  async function udpClient(): Promise<{ port: number; socket: UdpSocket }> {
    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, veth.hostIp, r));
    return { port: socket.address().port, socket };
  }
  /** Sends one datagram and waits for its echo. */
  function udpSend(c: { socket: UdpSocket }, port: number, text: string): Promise<void> {
    return new Promise<void>((resolve) => {
      c.socket.once('message', () => resolve());
      c.socket.send(Buffer.from(text), port, veth.nsIp);
    });
  }
  /** Sends `text` on a TCP connection and waits for the whole echo. */
  function tcpSend(s: Socket, text: string): Promise<void> {
    return new Promise<void>((resolve) => {
      let got = '';
      const on = (d: Buffer) => {
        got += d.toString();
        if (got.length >= text.length + 5) {
          s.off('data', on);
          resolve();
        }
      };
      s.on('data', on);
      s.write(text);
    });
  }
  const download = async (path: string, file: string): Promise<TsharkPacket[]> => {
    const r = await fb.api(path);
    expect(r.status, `${path}: ${r.status}`).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/vnd.tcpdump.pcap');
    writeFileSync(out(file), Buffer.from(await r.arrayBuffer()));
    return tsharkRead(out(file));
  };
  const texts = (packets: TsharkPacket[]) => packets.map((p) => p.payload.toString()).filter((t) => t !== '');
  /** No packet twice: a stored flow is written once however many alerts name it. */
  const once = (packets: TsharkPacket[]) => new Set(packets.map((p) => `${p.epochNs}|${p.src}|${p.srcPort}`)).size === packets.length;

  let udp: Awaited<ReturnType<typeof udpClient>>;
  let quiet: Awaited<ReturnType<typeof udpClient>>;
  let tcp: Socket;
  let tcpPort = 0;
  const alertIds: Record<string, string> = {};

  beforeAll(async () => {
    veth = createVethPair(`c${process.pid % 1000}`, SUBNET, { prefix: 'fbcp' });
    servers = spawn('ip', ['netns', 'exec', veth.ns, process.execPath, '-e', SERVERS], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => servers.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()));
    writeFileSync(eveFile, '');
    fb = await startWithFlags(['-i', veth.hostIf, '--conditional-pcap', `${veth.hostIf}=${STORE_BYTES}`, '--eve-file', eveFile, '--grace', '1']);
    await waitFor(async () => (await api<{ status: { state: string } }>('/api/v1/interfaces/0')).status.state === 'running', 'the capture to open');
    udp = await udpClient();
    quiet = await udpClient();
  }, 30_000);
  afterAll(async () => {
    udp?.socket.close();
    quiet?.socket.close();
    tcp?.destroy();
    await fb?.stop();
    if (servers?.pid) servers.kill();
    veth?.remove();
  });

  it('refuses settings and uploads it cannot use, saying what is accepted', async () => {
    const cases: [unknown, RegExp][] = [
      [{ interfaces: ['eth77'], maxDiskBytes: '1GB' }, /interface "eth77" is not a packet interface of this collector/],
      [{ maxDiskBytes: 'lots' }, /maxDiskBytes "lots" is not a size: give a number of bytes/],
      [{ maxDiskBytes: 1000 }, /too small: at least 1048576 bytes/],
      [{ interfaces: 'eth0' }, /interfaces "eth0": send \{ "interfaces"/],
      [{ bogus: 1 }, /unknown field bogus/],
    ];
    for (const [body, message] of cases) {
      const r = await patch(body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(((await r.json()) as { error: string }).error).toMatch(message);
    }
    expect((await stats()).settings).toEqual({ [veth.hostIf]: STORE_BYTES });
    const notAlert = await post('/api/v1/conditional-pcap/upload', { event_type: 'flow', src_ip: '1.2.3.4' });
    expect(notAlert.status).toBe(400);
    expect(((await notAlert.json()) as { error: string }).error).toMatch(/event_type "flow": upload an alert record/);
    const noTuple = await post('/api/v1/conditional-pcap/upload', eveAlert({ src_ip: 'nowhere' }));
    expect(noTuple.status).toBe(400);
    expect(((await noTuple.json()) as { error: string }).error).toMatch(/src_ip "nowhere" and dest_ip .* must both be IP addresses/);
    expect((await fb.api('/api/v1/conditional-pcap/alert-none.pcap/retrieve')).status).toBe(404);
    expect(carriesPackets('/api/v1/conditional-pcap/alert-x.pcap/download') && carriesPackets('/api/v1/alerts/3/pcap')).toBe(true);
  });

  it('keeps an alerted flow from the packet that fired to its end, once, and nothing of other flows', async () => {
    // Before any alert: three flows.
    for (let i = 0; i < 5; i++) await udpSend(udp, UDP_ALERTED, `U1#${i}`);
    for (let i = 0; i < 3; i++) await udpSend(quiet, UDP_QUIET, `Q#${i}`);
    tcp = connect(TCP_ALERTED, veth.nsIp);
    await new Promise<void>((r) => tcp.once('connect', () => r()));
    tcpPort = tcp.localPort!;
    await tcpSend(tcp, 'T#0');
    await waitFor(async () => (await api<{ flows: unknown[] }>(`/api/v1/interfaces/0/flows?port=${TCP_ALERTED}`)).flows.length === 1 && (await api<{ flows: unknown[] }>(`/api/v1/interfaces/0/flows?port=${UDP_ALERTED}`)).flows.length === 1, 'the flows in the table');

    // The IDS fired on U1#4 and on T#0: by Community ID, and by the reply's 5-tuple.
    const cid = communityId(17, veth.hostIp, udp.port, veth.nsIp, UDP_ALERTED);
    appendFileSync(eveFile, lines(
      eveAlert({ proto: 'UDP', src_ip: veth.hostIp, src_port: udp.port, dest_ip: veth.nsIp, dest_port: UDP_ALERTED, community_id: cid, flow_id: 1001, alert: { signature_id: 9301, signature: 'udp by community id' } }),
      eveAlert({ proto: 'TCP', src_ip: veth.nsIp, src_port: TCP_ALERTED, dest_ip: veth.hostIp, dest_port: tcpPort, flow_id: 1002, alert: { signature_id: 9302, signature: 'tcp by reverse 5-tuple' } }),
    ));
    // A second alert on the TCP flow.
    expect((await post('/api/v1/alerts', eveAlert({ proto: 'TCP', src_ip: veth.hostIp, src_port: tcpPort, dest_ip: veth.nsIp, dest_port: TCP_ALERTED, flow_id: 1002, alert: { signature_id: 9303 } }))).status).toBe(201);
    for (const sig of [9301, 9302, 9303]) {
      const a = await waitFor(async () => (await api<{ alerts: { id: string; status: string }[] }>(`/api/v1/alerts?signature_id=${sig}`)).alerts.find((x) => x.status === 'matched'), `alert ${sig} matched`);
      alertIds[sig] = a.id;
    }
    await waitFor(async () => (await stats()).interfaces[0]?.alertedFlows === 2, 'the capture to follow the two alerted flows');

    // After the alerts: more of each flow, then the TCP connection closes.
    for (let i = 5; i < 10; i++) await udpSend(udp, UDP_ALERTED, `U1#${i}`);
    for (let i = 3; i < 6; i++) await udpSend(quiet, UDP_QUIET, `Q#${i}`);
    await tcpSend(tcp, 'T#1');
    await new Promise<void>((r) => {
      tcp.on('close', () => r());
      tcp.end();
    });

    const u1 = await waitFor(async () => {
      const p = await download(`/api/v1/alerts/${alertIds[9301]}/pcap`, 'u1.pcap');
      return texts(p).includes('echo:U1#9') ? p : undefined;
    }, 'the UDP flow\'s last packet in the store');
    // Only this flow, from the triggering datagram (and its echo) on, each packet once.
    expect(u1.every((p) => p.protocol === 'udp' && [udp.port, UDP_ALERTED].includes(p.srcPort) && [udp.port, UDP_ALERTED].includes(p.dstPort))).toBe(true);
    const u1Texts = texts(u1);
    const fromTrigger = u1Texts.slice(u1Texts.indexOf('U1#4'));
    expect(fromTrigger).toEqual([4, 5, 6, 7, 8, 9].flatMap((i) => [`U1#${i}`, `echo:U1#${i}`]));
    expect(u1Texts.slice(0, u1Texts.indexOf('U1#4'))).toEqual(u1Texts.slice(0, u1Texts.indexOf('U1#4')).filter((t) => /^(echo:)?U1#[0-3]$/.test(t)));
    expect(once(u1)).toBe(true);

    // The TCP flow, through the second alert: the same stored flow, every segment to the FIN, once.
    const t = await waitFor(async () => {
      const p = await download(`/api/v1/alerts/${alertIds[9303]}/pcap`, 't.pcap');
      return p.filter((x) => x.protocol === 'tcp').length >= 8 && texts(p).includes('echo:T#1') ? p : undefined;
    }, 'the TCP flow to its end in the store');
    expect(t.every((p) => p.protocol === 'tcp' && [tcpPort, TCP_ALERTED].includes(p.srcPort) && [tcpPort, TCP_ALERTED].includes(p.dstPort))).toBe(true);
    expect(texts(t)).toEqual(expect.arrayContaining(['T#0', 'echo:T#0', 'T#1', 'echo:T#1']));
    expect(once(t)).toBe(true);
    const viaOther = await download(`/api/v1/alerts/${alertIds[9302]}/pcap`, 't2.pcap');
    expect(viaOther.map((p) => p.epochNs)).toEqual(t.map((p) => p.epochNs).slice(0, viaOther.length));

    // Two flows alerted (three alerts); nothing of the quiet flow: the store is exactly these two flows' packets.
    const s = await waitFor(async () => {
      const x = await stats();
      return x.interfaces[0].store.packets === u1.length + t.length ? x : undefined;
    }, 'the store to hold exactly the two flows');
    expect(s.interfaces[0]).toMatchObject({ flowsAlerted: 2, flowsRefused: 0 });
    expect(s.alertsApplied).toBe(3);
    expect(s.storedShare).toBeGreaterThan(0);
    expect(s.storedShare).toBeLessThan(1);
    // The closed TCP flow leaves the table after its grace: the capture stops following it.
    await waitFor(async () => (await stats()).interfaces[0].flowsEnded >= 1, 'the closed TCP flow to end');
  }, 60_000);

  it('runs the seed\'s REST sequence: alerts tail, upload, extract, retrieve, download', async () => {
    // 1. alerts tail, filtered on signature id and flow id as the seed's script does.
    const tail = await api<{ alerts: { record: Record<string, unknown> }[] }>('/api/v1/alerts?signature_id=9302&flow_id=1002');
    const record = tail.alerts[0].record;
    // 2. upload → a file name (the TCP flow has left the table: the stored alert says where it was).
    const up = await post('/api/v1/conditional-pcap/upload', record);
    expect(up.status).toBe(201);
    const { filename, interface: iface } = (await up.json()) as { filename: string; interface: string };
    expect(filename).toMatch(/^alert-[0-9a-f]{20}\.pcap$/);
    expect(iface).toBe(veth.hostIf);
    expect(((await (await post('/api/v1/conditional-pcap/upload', record)).json()) as { filename: string }).filename).toBe(filename);
    // The same record as a file in a multipart form (curl -F file=@alert.json) names the same pcap.
    const form = new FormData();
    form.append('file', new Blob([JSON.stringify(record)], { type: 'application/json' }), 'alert.json');
    const multipart = await fb.api('/api/v1/conditional-pcap/upload', { method: 'POST', body: form });
    expect(multipart.status).toBe(201);
    expect(((await multipart.json()) as { filename: string }).filename).toBe(filename);
    const wrongField = new FormData();
    wrongField.append('record', new Blob([JSON.stringify(record)]), 'alert.json');
    expect(((await (await fb.api('/api/v1/conditional-pcap/upload', { method: 'POST', body: wrongField })).json()) as { error: string }).error).toMatch(/in a field named "file"/);
    const early = await fb.api(`/api/v1/conditional-pcap/${filename}/download`);
    expect(early.status).toBe(409);
    expect(((await early.json()) as { error: string }).error).toMatch(/is not extracted: POST .*\/extract first/);
    // 3. extract; 4. retrieve until ready; 5. download.
    expect((await fb.api(`/api/v1/conditional-pcap/${filename}/extract`, { method: 'POST' })).status).toBe(202);
    const ready = await waitFor(async () => {
      const r = await api<{ status: string; packets: number; bytes: number }>(`/api/v1/conditional-pcap/${filename}/retrieve`);
      expect(['pending', 'ready']).toContain(r.status);
      return r.status === 'ready' ? r : undefined;
    }, 'the extraction to be ready');
    const packets = await download(`/api/v1/conditional-pcap/${filename}/download`, 'script.pcap');
    const direct = tsharkRead(out('t.pcap'));
    expect(packets.map((p) => `${p.epochNs}|${p.srcPort}`)).toEqual(direct.map((p) => `${p.epochNs}|${p.srcPort}`));
    expect(ready.packets).toBe(packets.length);
    expect(ready.bytes).toBe(readFileSync(out('script.pcap')).length);
    // Every download left an audit line.
    const audit = readFileSync(join(fb.dataDir, 'audit.log'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { action?: string; target?: string; route?: string });
    expect(audit.some((l) => l.action === 'pcap.download' && l.target === filename)).toBe(true);
    expect(audit.filter((l) => l.action === 'pcap.download' && /^\/api\/v1\/alerts\/\d+\/pcap$/.test(l.route ?? '')).length).toBeGreaterThanOrEqual(3);
  }, 30_000);

  it('rotates the store at its size bound, oldest data first', async () => {
    const big = 'x'.repeat(1300);
    for (let i = 0; i < 1000; i++) await udpSend(udp, UDP_ALERTED, `U1#big${i}:${big}`);
    const s = await waitFor(async () => {
      const x = await stats();
      return x.rotations > 0 && x.interfaces[0].store.packets >= 2000 + 20 ? x : undefined;
    }, 'the store to rotate', 30_000);
    expect(s.interfaces[0].store.diskBytes).toBeLessThanOrEqual(STORE_BYTES + 2 * 1024 * 1024);
    const kept = await waitFor(async () => {
      const x = await stats();
      return x.interfaces[0].store.diskBytes <= STORE_BYTES ? x : undefined;
    }, 'the store back under its bound');
    expect(kept.interfaces[0].store.deletedFiles).toBeGreaterThan(0);
    const u1 = await download(`/api/v1/alerts/${alertIds[9301]}/pcap`, 'u1-rotated.pcap');
    const t = texts(u1);
    // The newest is kept, the oldest went.
    expect(t).toContain(`echo:U1#big999:${big}`);
    expect(t).not.toContain('U1#4');
    expect(once(u1)).toBe(true);
    const metrics = await (await fb.api('/metrics')).text();
    expect(metrics).toMatch(new RegExp(`flowbridge_conditional_rotations_total\\{interface="${veth.hostIf}"\\} [1-9]`));
    expect(metrics).toMatch(/flowbridge_conditional_stored_share_ratio \d/);
  }, 60_000);
});
