// A recording on a disk that fills up (a small tmpfs, not its own max disk space):
// recording pauses and says why, counts the packets it could not write, while capture
// and flows go on; it stays paused while the disk is full, resumes by itself once space
// returns, and every file it leaves is whole.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmdirSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { PacketInterface } from '../../src/interfaces/packet-interface.ts';
import type { RecordingState } from '../../src/model/recording.ts';
import { RecordingWriter } from '../../src/recording/writer.ts';
import { frame } from '../support/pcap-writer.ts';
import { describeAsRoot } from '../support/privileges.ts';
import { waitFor } from '../support/wait.ts';
import { addFrame, closedPcaps, extractToFile, logLine, nowNs, payload, recordingSettings, recordLo, seen, tempDir, tsharkRead, udpSender } from './support.ts';

const running: PacketInterface[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop()));
});

describeAsRoot('recording on a full disk', 'mount a tmpfs and capture on lo', () => {
  let mnt = '';
  beforeAll(() => {
    mnt = mkdtempSync(join(tmpdir(), 'fb-fulldisk-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt]);
  });
  afterAll(() => {
    if (!mnt) return;
    try {
      execFileSync('umount', [mnt]);
    } finally {
      rmdirSync(mnt);
    }
  });

  it('pauses while the disk is full (capture and flows go on), resumes when space returns, and leaves whole files', async () => {
    const dir = join(mnt, 'rec');
    mkdirSync(dir);
    const filler = join(mnt, 'filler');
    writeFileSync(filler, Buffer.alloc(2 * 1024 * 1024 - 300 * 1024, 1));
    const lo = await recordLo(31, 'udp and (port 16230 or port 16231 or port 16232)', recordingSettings(dir, { maxDiskBytes: 64 * 1024 * 1024 }));
    running.push(lo);
    const begin = nowNs();

    // Flow A until the disk is full: recording pauses and says why.
    const a = await udpSender(16280);
    const sentA: Buffer[] = [];
    await waitFor(async () => {
      const batch = Array.from({ length: 20 }, (_, i) => payload('A', sentA.length + i, 1000));
      await a.send(16230, batch);
      sentA.push(...batch);
      return lo.recording().state === 'paused';
    }, 'the recording paused by the full disk', 20_000);
    const paused = lo.recording();
    expect(paused.error).toMatch(/disk full/);
    expect(paused.log.some((l) => /disk full writing .*: recording paused until space returns/.test(l))).toBe(true);
    expect(paused.dropped['disk-full']).toBeGreaterThan(0);

    // While the disk is full: capture and flows go on, recording stays paused and counts what it drops.
    const statesWhileFull = new Set<RecordingState>();
    const captured = lo.capture().packets;
    const started = Date.now();
    while (Date.now() - started < 2500) {
      // A few retries of the writer long: packets keep coming all along.
      const batch = Array.from({ length: 5 }, (_, i) => payload('A', sentA.length + i, 1000));
      await a.send(16230, batch);
      sentA.push(...batch);
      statesWhileFull.add(lo.recording().state);
      await new Promise((r) => setTimeout(r, 50)); // pacing the traffic
    }
    a.close();
    await seen(lo, captured + 1);
    await waitFor(() => lo.capture().packets >= sentA.length, 'every datagram of flow A captured');
    await waitFor(() => (lo.recording().dropped['disk-full'] ?? 0) > paused.dropped['disk-full'], 'more packets dropped for a full disk');
    expect([...statesWhileFull]).toEqual(['paused']);
    const full = lo.recording();
    expect(full.state).toBe('paused');
    expect(full.log.some((l) => /resumed/.test(l))).toBe(false);
    expect(full.log.filter((l) => /disk full/.test(l))).toHaveLength(1);
    await waitFor(() => lo.flows.query({ port: 16230 }).flows[0]?.packets === sentA.length, 'flow A counted whole in the flows');

    // Space returns: recording resumes by itself and records what comes next.
    unlinkSync(filler);
    // The capture reports its recording with the packets it hands over: a trickle of probes carries the news.
    const probe = await udpSender(16282);
    let probes = 0;
    await waitFor(async () => {
      await probe.send(16232, [payload('P', probes++, 10)]);
      return lo.recording().state === 'running';
    }, 'the recording resumed');
    probe.close();
    await logLine(lo, /disk space is back: recording resumed/);
    const resumedAt = nowNs();
    const sentB = Array.from({ length: 30 }, (_, i) => payload('B', i, 1000));
    const b = await udpSender(16281);
    await b.send(16231, sentB);
    b.close();
    await waitFor(() => lo.recording().packets >= full.packets + sentB.length, 'flow B recorded');
    await lo.stop();
    const stats = lo.recording();

    // Every file left is whole; what was written before the disk filled is the start of flow A, without gap.
    const names = readdirSync(dir);
    expect(names.filter((n) => n.endsWith('.part'))).toEqual([]);
    const pcaps = closedPcaps(dir);
    expect(pcaps.length).toBeGreaterThanOrEqual(2);
    const packets = pcaps.flatMap((p) => tsharkRead(join(dir, p)));
    const recordedA = packets.filter((p) => p.dstPort === 16230).map((p) => p.payload);
    expect(recordedA.length).toBeGreaterThan(0);
    expect(recordedA).toEqual(sentA.slice(0, recordedA.length));
    const recordedProbes = packets.filter((p) => p.dstPort === 16232).length;
    // Every packet not written is counted, and only those.
    expect(stats.dropped).toEqual({ 'disk-full': sentA.length - recordedA.length + probes - recordedProbes });
    expect(packets.filter((p) => p.dstPort === 16231).map((p) => p.payload)).toEqual(sentB);

    // The packets after the pause are extractable, alone in their window.
    const out = tempDir('fulldisk-out');
    const after = extractToFile(dir, { beginNs: resumedAt, endNs: nowNs(), bpf: 'udp port 16231' }, join(out, 'after.pcap'));
    expect(tsharkRead(after.path).map((p) => p.payload)).toEqual(sentB);
    const all = extractToFile(dir, { beginNs: begin, endNs: nowNs(), bpf: 'not udp port 16232' }, join(out, 'all.pcap'));
    expect(tsharkRead(all.path).map((p) => p.payload)).toEqual([...recordedA, ...sentB]);
  });

  it('started on a disk with no room at all, pauses and leaves no stray file behind', () => {
    const dir = join(mnt, 'rec-nospace');
    mkdirSync(dir);
    // Fill the file system to its last byte.
    const filler = join(mnt, 'filler-all');
    const fd = openSync(filler, 'w');
    const chunk = Buffer.alloc(64 * 1024, 2);
    try {
      for (;;) writeSync(fd, chunk);
    } catch (err) {
      expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
    } finally {
      closeSync(fd);
    }
    try {
      const w = new RecordingWriter(recordingSettings(dir), 1);
      const udp = (i: number) => frame({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 'udp', sport: 1000, dport: 53, payload: 100 + i });
      const t0 = Date.now();
      for (let i = 0; i < 5; i++) addFrame(w, udp(i), t0 + i);
      w.tick(t0 + 5000);
      expect(w.stats()).toMatchObject({ state: 'paused', packets: 0, dropped: { 'disk-full': 5 } });
      expect(w.stats().error).toMatch(/disk full/);
      w.close();
      expect(w.stats().state).toBe('stopped');
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      unlinkSync(filler);
    }
    // With room again, a new recording there starts clean: nothing to repair.
    const w = new RecordingWriter(recordingSettings(dir), 1);
    addFrame(w, frame({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 'udp', sport: 1000, dport: 53, payload: 10 }), Date.now());
    w.close();
    expect(w.stats()).toMatchObject({ state: 'stopped', packets: 1, files: 1, dropped: {} });
    expect(w.stats().log.filter((l) => /damaged|recovered|rebuilt/.test(l))).toEqual([]);
    const pcaps = closedPcaps(dir);
    expect(pcaps).toHaveLength(1);
    expect(tsharkRead(join(dir, pcaps[0]))).toHaveLength(1);
  });
});
