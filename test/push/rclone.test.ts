// RCLONE mode against a real rclone remote: `rclone serve webdav` on 127.0.0.1, made a
// remote for flowbridge's rclone children by environment variables (RCLONE_CONFIG_FBPO_*).
// UDP on lo is split into 1-s files that go through a 1 MiB spool: with the server up
// every split arrives whole and named as configured; with it down the spool fills, the
// failures and retries are counted, and past the spool's bound the packets dropped are
// counted by reason; when the server returns the backlog is delivered. tshark reads
// every file the server received: together they hold every packet sent but those
// counted as dropped. Then an offline push of the recorded range through the same
// target, the server down again: it waits for room in the spool instead of dropping,
// and once the server is back the remote holds every packet sent, the dropped ones too.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startWithFlags } from '../support/flowbridge.ts';
import { describeAsRoot } from '../support/privileges.ts';
import { waitFor } from '../support/wait.ts';
import { payload, tempDir, tsharkRead, udpSender } from '../recording/support.ts';

const WEBDAV_PORT = 16701;
const PORT = 16702;
const FROM = 16703;

interface View {
  stats: { files: number; packets: number; currentFile?: string; dropped: Record<string, number> };
  upload: { uploaded: number; spoolFiles: number; spoolBytes: number; spoolBound: number; retries: number; failures: number; lastError?: string; lagSeconds: number };
}

const listening = (port: number) => new Promise<boolean>((resolve) => {
  const s = connect(port, '127.0.0.1', () => {
    s.end();
    resolve(true);
  });
  s.on('error', () => resolve(false));
});

describeAsRoot('push target in RCLONE mode', 'capture on lo', () => {
  const served = tempDir('po-webdav');
  const remoteDir = join(served, 'pcap');
  let server: ChildProcess | undefined;
  let fb: Awaited<ReturnType<typeof startWithFlags>>;
  const sink = createSocket('udp4');

  async function serve(): Promise<void> {
    server = spawn('rclone', ['serve', 'webdav', served, '--addr', `127.0.0.1:${WEBDAV_PORT}`], { stdio: 'ignore' });
    await waitFor(() => listening(WEBDAV_PORT), 'rclone serve webdav to listen');
  }
  async function stopServing(): Promise<void> {
    const s = server!;
    server = undefined;
    await new Promise<void>((r) => {
      s.once('exit', () => r());
      s.kill('SIGTERM');
    });
    await waitFor(async () => !(await listening(WEBDAV_PORT)), 'the webdav server to be gone');
  }

  beforeAll(async () => {
    mkdirSync(remoteDir, { recursive: true });
    process.env.RCLONE_CONFIG_FBPO_TYPE = 'webdav';
    process.env.RCLONE_CONFIG_FBPO_URL = `http://127.0.0.1:${WEBDAV_PORT}`;
    await serve();
    await new Promise<void>((r) => sink.bind(PORT, '127.0.0.1', r));
    fb = await startWithFlags(['-i', 'lo', '--bpf', `lo=udp and port ${PORT}`, '--record', 'lo=64MB', '--pcap-dir', tempDir('po-rpcap')]);
    await waitFor(async () => ((await (await fb.api('/api/v1/interfaces/0')).json()) as { status: { state: string } }).status.state === 'running', 'the capture to open');
  });
  afterAll(async () => {
    await fb?.stop();
    sink.close();
    server?.kill('SIGTERM');
    delete process.env.RCLONE_CONFIG_FBPO_TYPE;
    delete process.env.RCLONE_CONFIG_FBPO_URL;
  });

  const view = async () => (await (await fb.api('/api/v1/push-targets/po-rclone')).json()) as View;
  const delivered = () => readdirSync(remoteDir).filter((n) => n.endsWith('.pcap')).sort();
  const sent: Buffer[] = [];
  const offered: Buffer[] = [];
  const firstSecond = Math.floor(Date.now() / 1000) - 1;

  it('uploads every split whole, named as configured', async () => {
    const r = await fb.api('/api/v1/push-targets', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ desc: 'po-rclone', mode: 'RCLONE', path: 'fbpo:pcap/all', split: '--split-time 1e9', fileName: '--filename-epoch-sec-startend', spoolSize: '1MiB', interface: 'lo' }),
    });
    expect(r.status, await r.clone().text()).toBe(201);
    const a = await udpSender(FROM);
    for (let i = 0; i < 25; i++) {
      const d = payload('up', i, 1000);
      sent.push(d);
      await a.send(PORT, [d]);
      await new Promise((res) => setTimeout(res, 100));
    }
    a.close();
    const v = await waitFor(async () => {
      const x = await view();
      return x.stats.packets === sent.length && x.stats.currentFile === undefined && x.upload.spoolFiles === 0 && x.upload.uploaded === x.stats.files ? x : undefined;
    }, 'every split to be uploaded', 20_000);
    const names = delivered();
    expect(names.length).toBe(v.stats.files);
    expect(names.length).toBeGreaterThanOrEqual(2);
    const packets = [];
    for (const n of names) {
      const [, start, end] = /^all_(\d+)-(\d+)\.pcap$/.exec(n)!.map(Number);
      expect(end - start).toBe(1);
      const inFile = tsharkRead(join(remoteDir, n));
      for (const p of inFile) expect(p.epochNs >= BigInt(start) * 1_000_000_000n && p.epochNs < BigInt(end) * 1_000_000_000n).toBe(true);
      packets.push(...inFile);
    }
    expect(packets.map((p) => p.payload)).toEqual(sent);
    expect(v.upload.failures).toBe(0);
    expect(v.upload.spoolBound).toBe(1024 * 1024);
  });

  it('with the server down: the spool fills, failures are retried, packets past its bound are dropped and counted; the backlog arrives when it returns', async () => {
    await stopServing();
    const before = delivered();
    const a = await udpSender(FROM);
    // 8 kB datagrams until the spool is full and new splits are refused.
    for (let round = 0; round < 200 && !((await view()).stats.dropped['spool-full'] > 0); round++) {
      for (let i = 0; i < 40; i++) {
        const d = payload('down', offered.length, 8000);
        offered.push(d);
        await a.send(PORT, [d]);
      }
      await new Promise((res) => setTimeout(res, 200));
    }
    a.close();
    // Every packet offered is in a closed split or counted as dropped.
    const down = await waitFor(async () => {
      const x = await view();
      return x.stats.currentFile === undefined && x.stats.packets + (x.stats.dropped['spool-full'] ?? 0) === sent.length + offered.length && x.upload.failures >= 2 && x.upload.retries >= 1 ? x : undefined;
    }, 'every offered packet to be written or counted, and uploads to be retried', 30_000);
    const dropped = down.stats.dropped['spool-full'];
    expect(dropped).toBeGreaterThan(0);
    expect(down.upload.spoolBytes).toBeGreaterThanOrEqual(down.upload.spoolBound);
    expect(down.upload.spoolFiles).toBeGreaterThan(0);
    expect(down.upload.lastError).toBeTruthy();
    expect(down.upload.lagSeconds).toBeGreaterThan(0);
    expect(delivered()).toEqual(before);
    const log = (await (await fb.api('/api/v1/push-targets/po-rclone/log?lines=1000')).json()) as { lines: string[] };
    expect(log.lines.some((l) => /^\[\d+\.\d{3} H\]\[[^\]]+\] fbpo:pcap\/all_\d+-\d+\.pcap : upload failed \(.+\); retry in \d+ s$/.test(l))).toBe(true);

    await serve();
    const back = await waitFor(async () => {
      const x = await view();
      return x.upload.spoolFiles === 0 && x.upload.uploaded === x.stats.files ? x : undefined;
    }, 'the backlog to be uploaded', 90_000);
    expect(back.upload.spoolBytes).toBe(0);
    expect(back.upload.lagSeconds).toBe(0);
    const names = delivered();
    expect(names.length).toBe(back.stats.files);
    const packets = names.flatMap((n) => tsharkRead(join(remoteDir, n)));
    // Nothing lost: the first splits' packets, then the offered ones up to where the spool was full; the rest counted.
    const kept = offered.length - dropped;
    expect(packets.map((p) => p.payload)).toEqual([...sent, ...offered.slice(0, kept)]);
    expect(log.lines.length).toBeGreaterThan(0);
    const after = (await (await fb.api('/api/v1/push-targets/po-rclone/log?lines=1000')).json()) as { lines: string[] };
    expect(after.lines.some((l) => /\] fbpo:pcap\/all_\d+-\d+\.pcap : uploaded \d+ bytes$/.test(l))).toBe(true);
  });

  it('an offline push of the recorded range waits for room in the spool, drops nothing, and delivers every packet', async () => {
    await waitFor(async () => ((await (await fb.api('/api/v1/interfaces/0/recording')).json()) as { packets: number }).packets === sent.length + offered.length, 'the recording to hold every datagram');
    const droppedLive = (await view()).stats.dropped['spool-full'];
    await stopServing();
    const r = await fb.api('/api/v1/push-targets/po-rclone/offline', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ begin: firstSecond, end: Math.ceil(Date.now() / 1000) + 1 }) });
    expect(r.status).toBe(202);
    const { id } = (await r.json()) as { id: string };
    const job = async () => (await (await fb.api(`/api/v1/push-targets/po-rclone/offline/${id}`)).json()) as { status: string; packets: number; files: { path: string }[]; stats?: { dropped: Record<string, number> } };
    // The spool fills and the push waits, saying so in the target's log.
    await waitFor(async () => {
      const log = (await (await fb.api('/api/v1/push-targets/po-rclone/log?lines=1000')).json()) as { lines: string[] };
      return log.lines.some((l) => / spool \S+ is full \(1048576 bytes\): waiting for the uploader$/.test(l));
    }, 'the offline push to wait for the spool', 30_000);
    expect((await job()).status).toBe('running');
    expect((await view()).upload.spoolBytes).toBeGreaterThanOrEqual(1024 * 1024);

    await serve();
    const done = await waitFor(async () => {
      const j = await job();
      return j.status !== 'running' && j.status !== 'queued' && (await view()).upload.spoolFiles === 0 ? j : undefined;
    }, 'the offline push to finish and its files to be uploaded', 120_000);
    expect(done.status).toBe('completed');
    expect(done.stats!.dropped).toEqual({});
    expect(done.packets).toBe(sent.length + offered.length);
    expect(done.files.every((f) => /^fbpo:pcap\/all_\d+-\d+\.pcap$/.test(f.path))).toBe(true);
    expect((await view()).stats.dropped['spool-full']).toBe(droppedLive);
    // The offline splits replaced the live ones of the same windows on the remote: every packet is there now.
    const packets = delivered().flatMap((n) => tsharkRead(join(remoteDir, n)));
    expect(packets.map((p) => p.payload)).toEqual([...sent, ...offered]);
  });
});
