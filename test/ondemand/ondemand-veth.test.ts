// On-demand capture on real traffic (seed 003): a veth pair into a namespace this test
// creates, two kinds of UDP from the namespace (to one port and to another), a capture
// whose filter keeps one kind, ~25 MB of it into maxCaptureMB 20: two 10 MB pieces kept,
// the oldest overwritten. tshark reads every piece back and the packets are compared with
// what was sent. Then stop, delete on start, refusals, restarts (clean and after a crash).
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createSocket, type Socket } from 'node:dgram';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startWithFlags } from '../support/flowbridge.ts';
import { createVethPair, type VethPair } from '../support/netns.ts';
import { describeAsRoot } from '../support/privileges.ts';
import { waitFor } from '../support/wait.ts';
import { tempDir, tsharkRead } from '../recording/support.ts';
import { PcapFile } from '../../src/recording/pcap-file.ts';

const MATCH_PORT = 17501;
const OTHER_PORT = 17502;
const SUBNET = '10.213.175';
const PAYLOAD = 1400;
/** Record bytes of one matching datagram: record header, Ethernet, IPv4, UDP, payload. */
const RECORD = 16 + 14 + 20 + 8 + PAYLOAD;
/** ~25.5 MB of matching traffic. */
const MATCHING = 17_500;
const PIECE = 10_000_000;

type Status = { status: string; filter: string; maxCaptureMB: number; deleteFilesOnStart: boolean; startedBy: string | null; startedAt: string | null; bytes: number; files: string[]; packets: number; overwritten: number; filteredOut: number };
type Listing = { files: { name: string; bytes: number; interface: string | null; startedBy: string | null; createdAt: string }[] };

const datagram = (kind: string, i: number) => {
  const b = Buffer.alloc(PAYLOAD, 97 + (i % 26));
  b.write(`${kind}${i}:`);
  return b;
};

describeAsRoot('on-demand capture on a veth pair', 'create a network namespace and capture on its veth', () => {
  let fb: Awaited<ReturnType<typeof startWithFlags>>;
  let veth: VethPair;
  const dataDir = tempDir('ondemand-data');
  const captures = join(dataDir, 'captures');
  const listeners: Socket[] = [];

  const start = async () => {
    fb = await startWithFlags(['-i', veth.hostIf], dataDir);
    await waitFor(async () => ((await (await fb.api('/api/v1/interfaces/0')).json()) as { status: { state: string } }).status.state === 'running', 'the capture to open');
  };
  const post = (path: string, body?: object) => fb.api(path, { method: 'POST', ...(body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}) });
  const status = async () => (await (await fb.api('/api/v1/interfaces/0/capture')).json()) as Status;
  const listing = async () => ((await (await fb.api('/api/v1/captures')).json()) as Listing).files;
  const pieces = () => readdirSync(captures).filter((n) => /\.pcap\d+$/.test(n)).sort();
  /** Sends `count` matching datagrams from the namespace (from index `from`), one of the other kind after every 10th. */
  const send = (from: number, count: number) => veth.exec([process.execPath, '-e', `
    const u = require('dgram').createSocket('udp4');
    const d = (kind, i) => { const b = Buffer.alloc(${PAYLOAD}, 97 + (i % 26)); b.write(kind + i + ':'); return b; };
    const one = (b, port) => new Promise((r, j) => u.send(b, port, '${veth.hostIp}', (e) => (e ? j(e) : r())));
    (async () => {
      for (let i = ${from}; i < ${from + count}; i++) {
        await one(d('M', i), ${MATCH_PORT});
        if (i % 10 === 9) await one(d('O', i), ${OTHER_PORT});
        if (i % 100 === 99) await new Promise((r) => setTimeout(r, 1));
      }
      u.close();
    })();
  `], 60_000);

  beforeAll(async () => {
    veth = createVethPair(`o${process.pid % 1000}`, SUBNET, { prefix: 'fbod' });
    // Listeners for both kinds: without them the host would answer with ICMP errors.
    for (const port of [MATCH_PORT, OTHER_PORT]) {
      const s = createSocket('udp4');
      s.on('message', () => {});
      await new Promise<void>((r) => s.bind(port, veth.hostIp, r));
      listeners.push(s);
    }
    await start();
  });
  afterAll(async () => {
    await fb?.stop();
    for (const s of listeners) s.close();
    veth?.remove();
  });

  it('refuses what it cannot run, saying what is accepted, and starts nothing', async () => {
    const cases: [object | string, number, RegExp][] = [
      [{ filter: 'port banana', maxCaptureMB: 20 }, 400, /BPF filter "port banana": .*banana/],
      [{ filter: 'udp', maxCaptureMB: 0 }, 400, /maxCaptureMB 0: expected a whole number of MB from 1 to 1000/],
      [{ filter: 'udp', maxCaptureMB: 1001 }, 400, /from 1 to 1000/],
      [{ filter: 'udp' }, 400, /maxCaptureMB null/],
      [{ filter: 'udp', maxCaptureMB: 20, size: 3 }, 400, /unknown field size/],
      [{ filter: 'udp', maxCaptureMB: 20, deleteFilesOnStart: 'yes' }, 400, /deleteFilesOnStart must be true or false/],
    ];
    for (const [body, code, message] of cases) {
      const r = await post('/api/v1/interfaces/0/capture/start', body as object);
      expect(r.status, JSON.stringify(body)).toBe(code);
      expect(((await r.json()) as { error: string }).error).toMatch(message);
    }
    expect((await post('/api/v1/interfaces/7/capture/start', { maxCaptureMB: 20 })).status).toBe(404);
    expect((await post('/api/v1/interfaces/0/capture/stop')).status).toBe(409);
    expect((await status()).status).toBe('Stopped');
    expect(existsSync(join(captures, '.running', encodeURIComponent(veth.hostIf)))).toBe(false);
    expect((await fb.api('/api/v1/captures/..%2Fusers.json')).status).toBe(400);
    expect((await fb.api('/api/v1/captures/capture-2020-01-01_00-00-00.pcap0')).status).toBe(404);
  });

  it('keeps the newest 20 MB of matching traffic in 10 MB pieces, overwriting the oldest, and moves them on stop', async () => {
    // A file of an earlier run, which Delete Files On Start removes.
    mkdirSync(captures, { recursive: true });
    writeFileSync(join(captures, 'capture-2020-01-01_00-00-00.pcap0'), Buffer.alloc(24));
    expect((await listing()).map((f) => f.name)).toEqual(['capture-2020-01-01_00-00-00.pcap0']);

    const started = await post('/api/v1/interfaces/0/capture/start', { filter: `udp dst port ${MATCH_PORT}`, maxCaptureMB: 20, deleteFilesOnStart: true });
    expect(started.status).toBe(200);
    const running = (await started.json()) as Status;
    expect(running).toMatchObject({ status: 'Running', filter: `udp dst port ${MATCH_PORT}`, maxCaptureMB: 20, deleteFilesOnStart: true, startedBy: 'anonymous' });
    expect(await listing()).toEqual([]);
    const again = await post('/api/v1/interfaces/0/capture/start', { filter: '', maxCaptureMB: 5 });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: string }).error).toMatch(/already running on .* stop it first/);

    await send(0, MATCHING);
    const during = await waitFor(async () => {
      const s = await status();
      return s.packets >= MATCHING && s;
    }, `${MATCHING} matching packets written`, 60_000);
    expect(during.packets).toBe(MATCHING);
    expect(during.filteredOut).toBeGreaterThanOrEqual(MATCHING / 10);
    expect(during.overwritten).toBe(1);
    expect(during.files).toHaveLength(2);
    // Nothing reaches the captures directory while the capture runs.
    expect(pieces()).toEqual([]);
    const runDir = join(captures, '.running', encodeURIComponent(veth.hostIf));
    expect(readdirSync(runDir).filter((n) => n.endsWith('.part'))).toHaveLength(1);

    const stopped = await post('/api/v1/interfaces/0/capture/stop');
    expect(stopped.status).toBe(200);
    const after = (await stopped.json()) as Status;
    expect(after.status).toBe('Stopped');
    expect(existsSync(runDir)).toBe(false);

    // Two pieces, the first (.pcap0) overwritten; the older kept piece is full to within one packet.
    const names = pieces();
    expect(names).toHaveLength(2);
    expect(names[0]).toMatch(/^capture-\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d\.pcap1$/);
    expect(names[1]).toBe(names[0].replace(/1$/, '2'));
    expect(after.files).toEqual(names);
    const sizes = names.map((n) => statSync(join(captures, n)).size);
    expect(sizes[0]).toBeLessThanOrEqual(PIECE);
    expect(sizes[0]).toBeGreaterThan(PIECE - RECORD);
    expect(sizes[1]).toBeLessThanOrEqual(PIECE);
    expect(after.bytes).toBe(sizes[0] + sizes[1]);

    // tshark: only matching packets, the newest sent all there, in order, as sent.
    const packets = names.flatMap((n) => tsharkRead(join(captures, n)));
    expect(packets.every((p) => p.protocol === 'udp' && p.dstPort === MATCH_PORT)).toBe(true);
    const first = MATCHING - packets.length;
    expect(first).toBeGreaterThan(0);
    expect(packets.length).toBe((sizes[0] - 24) / RECORD + (sizes[1] - 24) / RECORD);
    packets.forEach((p, k) => expect(p.payload.equals(datagram('M', first + k)), `datagram ${first + k}`).toBe(true));

    // Listed with where they came from, downloaded whole, and the download audited.
    const listed = await listing();
    expect(listed.map((f) => [f.name, f.bytes, f.interface, f.startedBy])).toEqual(names.map((n, k) => [n, sizes[k], veth.hostIf, 'anonymous']));
    const got = await fb.api(`/api/v1/captures/${names[1]}`);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('application/vnd.tcpdump.pcap');
    expect(Buffer.from(await got.arrayBuffer()).equals(readFileSync(join(captures, names[1])))).toBe(true);
    const audit = readFileSync(join(dataDir, 'audit.log'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { action: string; route?: string; result: string });
    expect(audit.filter((a) => a.action.startsWith('capture.') || a.action === 'pcap.download').map((a) => [a.action, a.result])).toEqual(
      expect.arrayContaining([['capture.start', 'ok'], ['capture.stop', 'ok'], ['pcap.download', 'ok']]),
    );
  }, 180_000);

  it('keeps the pieces across a restart, and stops a running capture cleanly when flowbridge stops', async () => {
    const before = await listing();
    expect(before).toHaveLength(2);
    // A capture still running when flowbridge stops: its piece is completed and kept.
    expect((await post('/api/v1/interfaces/0/capture/start', { filter: `udp dst port ${MATCH_PORT}`, maxCaptureMB: 5 })).status).toBe(200);
    await send(100_000, 50);
    await waitFor(async () => (await status()).packets >= 50, '50 packets written');
    await fb.stop();
    const kept = pieces();
    expect(kept).toHaveLength(3);
    expect(readdirSync(join(captures, '.running'))).toEqual([]);

    await start();
    const listed = await listing();
    expect(listed.map((f) => f.name)).toEqual(kept.sort((a, b) => (before.some((f) => f.name === a) ? 0 : 1) - (before.some((f) => f.name === b) ? 0 : 1)));
    const newest = listed.find((f) => !before.some((b) => b.name === f.name))!;
    expect(newest).toMatchObject({ interface: veth.hostIf, startedBy: 'anonymous' });
    const packets = tsharkRead(join(captures, newest.name));
    expect(packets.map((p) => p.payload)).toEqual(Array.from({ length: 50 }, (_, k) => datagram('M', 100_000 + k)));
    // The last run is still shown, stopped.
    expect(await status()).toMatchObject({ status: 'Stopped', maxCaptureMB: 5, files: [newest.name], packets: 50 });

    // Delete one file.
    expect((await fb.api(`/api/v1/captures/${newest.name}`, { method: 'DELETE' })).status).toBe(204);
    expect((await listing()).map((f) => f.name)).toEqual(before.map((f) => f.name));
    expect((await fb.api(`/api/v1/captures/${newest.name}`, { method: 'DELETE' })).status).toBe(404);
  }, 60_000);

  it('moves a run a crash left in the temporary place into the captures directory at start, cut after its last whole packet', async () => {
    await fb.stop();
    const runDir = join(captures, '.running', encodeURIComponent(veth.hostIf));
    mkdirSync(runDir, { recursive: true });
    writeFileSync(join(runDir, 'run.json'), JSON.stringify({ runId: 'x', interface: veth.hostIf, startedBy: 'alice', startedAt: Date.now(), filter: '', maxCaptureMB: 10, deleteFilesOnStart: false }));
    // A piece being written when the process died: three whole records and half of a fourth.
    const part = join(runDir, '.capture-2021-07-16_17-59-23.pcap0.part');
    const file = new PcapFile(part, 1, 65535);
    const frames = [0, 1, 2, 3].map((i) => {
      const frame = Buffer.alloc(14 + 20 + 8 + 10);
      frame.writeUInt16BE(0x0800, 12);
      frame.set([0x45, 0, 0, 38, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 14);
      frame.writeUInt16BE(1000, 34);
      frame.writeUInt16BE(2000 + i, 36);
      frame.writeUInt16BE(18, 38);
      const rec = Buffer.alloc(16 + frame.length);
      rec.writeUInt32LE(1_626_458_363 + i, 0);
      rec.writeUInt32LE(frame.length, 8);
      rec.writeUInt32LE(frame.length, 12);
      frame.copy(rec, 16);
      return rec;
    });
    for (const rec of frames) file.append(rec, 0, rec.length - 16, true);
    file.flush();
    writeFileSync(part, readFileSync(part).subarray(0, 24 + 3 * frames[0].length + 20));

    await start();
    expect(existsSync(runDir)).toBe(false);
    const recovered = (await listing()).find((f) => f.name === 'capture-2021-07-16_17-59-23.pcap0');
    expect(recovered).toMatchObject({ interface: veth.hostIf, startedBy: 'alice', bytes: 24 + 3 * frames[0].length });
    expect(tsharkRead(join(captures, 'capture-2021-07-16_17-59-23.pcap0')).map((p) => p.dstPort)).toEqual([2000, 2001, 2002]);
  }, 60_000);
});
