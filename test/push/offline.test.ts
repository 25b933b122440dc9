// Offline push (FMADIO's --offline): traffic on lo recorded continuously while a push
// target splits it live into 1-s files; then the live files are set aside and the
// stored range is pushed again through the same target, over REST (a worker thread in
// the collector) and with `flowbridge push --offline` (in its own process, the
// collector stopped). Both must reproduce the live files' names and packets (tshark)
// for every window inside the range; a window cut by the range's start holds exactly
// the live packets from that start on.
import { execFile } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startWithFlags } from '../support/flowbridge.ts';
import { describeAsRoot } from '../support/privileges.ts';
import { waitFor } from '../support/wait.ts';
import { payload, tempDir, tsharkRead, udpSender, type TsharkPacket } from '../recording/support.ts';

const PORT = 16710;
const PEER = 16711;
const DATAGRAMS = 40;

const pcaps = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.pcap')).sort();
const brief = (packets: TsharkPacket[]) => packets.map((p) => ({ t: p.epochNs, dst: p.dstPort, payload: p.payload.toString('hex') }));

function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/main.ts', 'push', ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describeAsRoot('offline push of a stored range', 'capture on lo', () => {
  let fb: Awaited<ReturnType<typeof startWithFlags>> | undefined;
  const dataDir = tempDir('po-data');
  const pcapDir = tempDir('po-pcap');
  const out = tempDir('po-out');
  const liveDir = join(out, 'live');
  const flags = ['-i', 'lo', '--bpf', `lo=udp and port ${PORT}`];
  const target = { desc: 'po-all', mode: 'FILE', path: join(liveDir, 'all'), split: '--split-time 1e9', fileName: '--filename-epoch-sec-startend', filterBpf: `udp dst port ${PORT}`, interface: 'lo' };
  /** The live files: name → packets. */
  const live = new Map<string, TsharkPacket[]>();
  let begin = '';
  let end = '';
  let beginNs = 0n;

  beforeAll(async () => {
    fb = await startWithFlags([...flags, '--record', 'lo=64MB', '--pcap-dir', pcapDir], dataDir);
    await waitFor(async () => ((await (await fb!.api('/api/v1/interfaces/0/recording')).json()) as { state: string }).state === 'running', 'the recording to run');
  });
  afterAll(async () => {
    await fb?.stop();
  });

  const api = (path: string, body?: object) => fb!.api(path, body ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : undefined);

  it('pushes live and records the same packets', async () => {
    expect((await api('/api/v1/push-targets', target)).status).toBe(201);
    // Datagrams to PORT (pushed) and answers from it (recorded, not taken by the target's filter), ~4 s crossing 1-s windows.
    const a = await udpSender(PEER);
    const b = await udpSender(PORT);
    for (let i = 0; i < DATAGRAMS; i++) {
      await a.send(PORT, [payload('to', i, 100 + i)]);
      await b.send(PEER, [payload('from', i, 60)]);
      await new Promise((r) => setTimeout(r, 100));
    }
    a.close();
    b.close();
    await waitFor(async () => {
      const v = (await (await api('/api/v1/push-targets/po-all')).json()) as { stats: { packets: number; currentFile?: string } };
      return v.stats.packets === DATAGRAMS && v.stats.currentFile === undefined;
    }, 'every live split to close', 15_000);
    for (const n of pcaps(liveDir)) live.set(n, tsharkRead(join(liveDir, n)));
    const all = [...live.values()].flat();
    expect(all.map((p) => p.payload)).toEqual(Array.from({ length: DATAGRAMS }, (_, i) => payload('to', i, 100 + i)));
    expect(live.size).toBeGreaterThanOrEqual(3);
    // The range: from half a second into the first window to past the last one.
    const names = [...live.keys()];
    const first = Number(/^all_(\d+)-/.exec(names[0])![1]);
    const last = Number(/-(\d+)\.pcap$/.exec(names[names.length - 1])![1]);
    begin = `${first}.5`;
    end = `${last + 1}`;
    beginNs = BigInt(first) * 1_000_000_000n + 500_000_000n;
    // The recording holds them too (the reverse datagrams as well).
    await waitFor(async () => ((await (await fb!.api('/api/v1/interfaces/0/recording')).json()) as { packets: number }).packets >= 2 * DATAGRAMS, 'the recording to hold every datagram');
  });

  /** Checks that `dir` holds what the live push wrote for the range. */
  function sameAsLive(dir: string): void {
    const names = pcaps(dir);
    expect(readdirSync(dir).filter((n) => n.endsWith('.part'))).toEqual([]);
    const liveNames = [...live.keys()];
    // Every window fully inside the range: the same name, the same packets.
    expect(names.slice(1)).toEqual(liveNames.slice(1));
    for (const n of liveNames.slice(1)) expect(brief(tsharkRead(join(dir, n))), n).toEqual(brief(live.get(n)!));
    // The window the range cuts: the same name, the live packets from the range's start.
    const cut = live.get(liveNames[0])!.filter((p) => p.epochNs >= beginNs);
    if (cut.length === 0) expect(names[0]).toBe(liveNames[1]);
    else {
      expect(names[0]).toBe(liveNames[0]);
      expect(brief(tsharkRead(join(dir, names[0])))).toEqual(brief(cut));
    }
  }

  it('pushes the stored range again over REST: the same files, the same packets', async () => {
    rmSync(liveDir, { recursive: true });
    const r = await api('/api/v1/push-targets/po-all/offline', { begin: Number(begin), end });
    expect(r.status).toBe(202);
    const job = (await r.json()) as { id: string; status: string };
    expect(['queued', 'running']).toContain(job.status);
    const done = await waitFor(async () => {
      const v = (await (await api(`/api/v1/push-targets/po-all/offline/${job.id}`)).json()) as { status: string; packets: number; bytes: number; files: { path: string; packets: number }[]; stats: { filteredOut: number } };
      return v.status === 'completed' || v.status === 'failed' ? v : undefined;
    }, 'the offline push to finish', 30_000);
    expect(done.status).toBe('completed');
    sameAsLive(liveDir);
    expect(done.files.map((f) => f.path)).toEqual(pcaps(liveDir).map((n) => join(liveDir, n)));
    const pushed = pcaps(liveDir).flatMap((n) => tsharkRead(join(liveDir, n)));
    expect(done.packets).toBe(pushed.length);
    expect(done.stats.filteredOut).toBeGreaterThan(0); // the answers were recorded, not pushed
    const list = (await (await api('/api/v1/push-targets/po-all/offline')).json()) as { jobs: unknown[] };
    expect(list.jobs).toHaveLength(1);
  });

  it('refuses what it cannot do, naming the target and what is accepted, and queues nothing', async () => {
    const cases: [string, object, number, RegExp][] = [
      ['po-all', { begin: end, end: begin }, 400, /push target po-all: begin \(\S+\) is after end/],
      ['po-all', { begin: 'yesterday', end }, 400, /push target po-all: begin "yesterday" is not a time: give epoch seconds/],
      ['po-all', { end }, 400, /push target po-all: begin and end are required/],
      ['po-all', { begin, end, bpf: 'tcp' }, 400, /push target po-all: unknown field bpf \(an offline push takes begin and end/],
      ['nosuch', { begin, end }, 404, /no push target "nosuch"/],
    ];
    for (const [desc, body, status, message] of cases) {
      const r = await api(`/api/v1/push-targets/${desc}/offline`, body);
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(((await r.json()) as { error: string }).error).toMatch(message);
    }
    expect((await api('/api/v1/push-targets/po-all/offline/99')).status).toBe(404);
    // An interface that does not record has nothing stored to push.
    const off = await fb!.api('/api/v1/interfaces/0/recording', { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ enabled: false }) });
    expect(off.status).toBe(200);
    const r = await api('/api/v1/push-targets/po-all/offline', { begin, end });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: string }).error).toMatch(/push target po-all: interface lo does not record, so nothing is stored to push/);
    expect(((await (await api('/api/v1/push-targets/po-all/offline')).json()) as { jobs: unknown[] }).jobs).toHaveLength(1);
  });

  it('flowbridge push --offline does the same in its own process, the collector stopped', async () => {
    await fb!.stop();
    fb = undefined;
    rmSync(liveDir, { recursive: true });
    const args = ['--offline', '--target', 'po-all', '--begin', begin, '--end', end, '--data-dir', dataDir, '--pcap-dir', pcapDir, '-i', 'lo'];
    const r = await runCli(args);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    sameAsLive(liveDir);
    for (const n of pcaps(liveDir)) expect(r.stdout).toContain(`${join(liveDir, n)} : `);
    expect(r.stdout).toMatch(/push po-all: \d+ packets read, \d+ pushed in \d+ files/);

    // Bad flags: exit 2, saying what is accepted.
    const bad: [string[], RegExp][] = [
      [args.filter((a) => a !== '--offline'), /--offline is required/],
      [['--offline', '--begin', begin, '--end', end], /--target <desc> is required/],
      [[...args.slice(0, 3), '--begin', end, '--end', begin, ...args.slice(7)], /--begin \(\S+\) is after --end/],
      [['--offline', '--target', 'nosuch', '--begin', begin, '--end', end, '--data-dir', dataDir], /no push target "nosuch" \(there are: po-all\)/],
      [[...args, '--speed', '2'], /Unknown option '--speed'/],
    ];
    for (const [argv, message] of bad) {
      const b = await runCli(argv);
      expect(b.code, argv.join(' ')).toBe(2);
      expect(b.stderr).toMatch(message);
      expect(b.stderr).toContain('Usage: flowbridge push --offline --target <desc> --begin <s> --end <s>');
    }
  });
});
