// The recording ring: a store smaller than the traffic keeps its newest packets whole
// and deletes its oldest files (counted and logged) to stay under its max disk space;
// a window that only deleted files covered says so. Files also rotate by duration,
// and an extraction across them gives back the packets in the order they were sent.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { PacketInterface } from '../../src/interfaces/packet-interface.ts';
import { readFileIndex } from '../../src/recording/file-index.ts';
import { RecordingWriter } from '../../src/recording/writer.ts';
import { frame } from '../support/pcap-writer.ts';
import { describeAsRoot } from '../support/privileges.ts';
import { waitFor } from '../support/wait.ts';
import { addFrame, closedPcaps, extractToFile, nowNs, payload, recordingSettings, recordLo, seen, tempDir, tsharkRead, tsharkReadStore, udpSender } from './support.ts';

const running: PacketInterface[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop()));
});

describe('recording ring, written directly', () => {
  it('stays under its max disk space when it stops with a full store (the last file\'s index counts too)', () => {
    const dir = tempDir('ring-close');
    const maxDiskBytes = 400_000;
    const w = new RecordingWriter(recordingSettings(dir, { maxDiskBytes, maxFileBytes: 70_000, maxFileSeconds: 3600 }), 1);
    const udp = (i: number, payloadBytes: number) => frame({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 'udp', sport: 1000 + (i % 3), dport: 53, payload: payloadBytes });
    const t0 = Date.now();
    // Fill the store to its last byte: the file being written ends exactly at the bound.
    let i = 0;
    for (; i < 10_000; i++) {
      w.tick(t0 + i);
      const room = maxDiskBytes - w.stats().diskBytes;
      if (room === 0 && i > 500) break;
      const record = room >= 2 * 1058 || room < 16 + 42 ? 1058 : room >= 1058 + 58 ? room - 1058 : room;
      addFrame(w, udp(i, record - 16 - 42), t0 + i);
    }
    expect(w.stats()).toMatchObject({ diskBytes: maxDiskBytes, state: 'running' });
    expect(w.stats().deletedFiles).toBeGreaterThan(0);
    w.close();
    const stats = w.stats();
    expect(stats.state).toBe('stopped');
    const names = readdirSync(dir);
    expect(names.filter((n) => n.endsWith('.part'))).toEqual([]);
    const onDisk = names.reduce((n, name) => n + statSync(join(dir, name)).size, 0);
    expect(stats.diskBytes).toBe(onDisk);
    expect(onDisk).toBeLessThanOrEqual(maxDiskBytes);
    // What is kept is the newest packets, whole.
    const kept = tsharkReadStore(dir);
    expect(kept.length).toBeGreaterThan(250);
    expect(kept.map((p) => p.srcPort)).toEqual(Array.from({ length: kept.length }, (_, k) => 1000 + ((i - kept.length + k) % 3)));
  });
});

describeAsRoot('recording ring', 'capture on lo', () => {
  it('deletes the oldest files to stay under the max disk space and keeps the newest packets whole', async () => {
    const dir = tempDir('ring');
    const maxDiskBytes = 400_000;
    const lo = await recordLo(11, 'udp and (port 16200 or port 16201 or port 16202 or port 16203)', recordingSettings(dir, { maxDiskBytes, maxFileSeconds: 3600 }));
    running.push(lo);
    const begin = nowNs();

    // Four flows, one after the other, 500 datagrams of 1000 bytes each: ~2 MB, five times the store.
    const flows = [0, 1, 2, 3].map((f) => Array.from({ length: 500 }, (_, i) => payload(`F${f}`, i, 1000)));
    const sent: Buffer[] = [];
    let oldEnd = 0n;
    for (const [f, datagrams] of flows.entries()) {
      const s = await udpSender(16250 + f);
      await s.send(16200 + f, datagrams);
      s.close();
      sent.push(...datagrams);
      await seen(lo, sent.length);
      if (f === 0) {
        // The first flow's window ends here; the next packets come strictly later.
        oldEnd = nowNs();
        await waitFor(() => BigInt(Date.now()) * 1_000_000n > oldEnd + 2_000_000n, 'the clock to pass the first window');
      }
    }
    await waitFor(() => lo.recording().packets >= sent.length, 'every datagram recorded');
    await lo.stop();
    const end = nowNs();

    const stats = lo.recording();
    expect(stats.state).toBe('stopped');
    expect(stats.dropped).toEqual({});
    expect(stats.deletedFiles).toBeGreaterThan(0);
    expect(stats.log.some((l) => /deleted \d{8}-\S+\.pcap \(max disk space 400000 bytes reached\)/.test(l))).toBe(true);
    // The store as reported and as it is on disk stays under its bound.
    expect(stats.diskBytes).toBeLessThanOrEqual(maxDiskBytes);
    const names = readdirSync(dir);
    const onDisk = names.reduce((n, name) => n + statSync(join(dir, name)).size, 0);
    expect(onDisk).toBeLessThanOrEqual(maxDiskBytes);
    expect(names.filter((n) => n.endsWith('.part'))).toEqual([]);
    const pcaps = closedPcaps(dir);
    expect(pcaps.length).toBe(stats.files);
    expect(pcaps[0]).not.toMatch(/^00000001-/); // the first file went
    for (const p of pcaps) {
      expect(names).toContain(`${p}.idx`);
      expect(readFileIndex(join(dir, `${p}.idx`))!.packets).toBe(tsharkRead(join(dir, p)).length);
    }

    // The newest datagrams are all there, exactly as sent, with no gap: what is kept is a suffix of what was sent.
    const kept = tsharkReadStore(dir).map((p) => p.payload);
    expect(kept.length).toBeGreaterThanOrEqual(250);
    expect(kept).toEqual(sent.slice(sent.length - kept.length));

    // The whole window extracts what is kept; the first flow's window was only in deleted files and says so.
    const out = tempDir('ring-out');
    const all = extractToFile(dir, { beginNs: begin, endNs: end }, join(out, 'all.pcap'));
    expect(tsharkRead(all.path).map((p) => p.payload)).toEqual(kept);
    const old = extractToFile(dir, { beginNs: begin, endNs: oldEnd }, join(out, 'old.pcap'));
    expect(old.result).toMatchObject({ packets: 0, emptyReason: 'window-too-old' });
    expect(old.result.oldestMs).toBeGreaterThan(Number(oldEnd / 1_000_000n));
    expect(tsharkRead(old.path)).toEqual([]);
  });

  it('rotates files by duration; each file is readable and an extraction across them is in the order sent', async () => {
    const dir = tempDir('ring-time');
    const lo = await recordLo(12, 'udp and (port 16210 or port 16211)', recordingSettings(dir, { maxFileSeconds: 1 }));
    running.push(lo);
    const begin = nowNs();
    const a = await udpSender(16260);
    const b = await udpSender(16261);
    const sent: Buffer[] = [];
    // Two flows, alternating, one datagram every 100 ms for a bit more than three seconds.
    const started = Date.now();
    for (let i = 0; Date.now() - started < 3200; i++) {
      const d = payload(i % 2 ? 'B' : 'A', i, 200 + (i % 7) * 100);
      await (i % 2 ? b : a).send(i % 2 ? 16211 : 16210, [d]);
      sent.push(d);
      await new Promise((r) => setTimeout(r, 100)); // pacing the traffic, not waiting for a result
    }
    a.close();
    b.close();
    await seen(lo, sent.length);
    await lo.stop();
    const end = nowNs();

    const names = readdirSync(dir);
    expect(names.filter((n) => n.endsWith('.part'))).toEqual([]);
    const pcaps = closedPcaps(dir);
    expect(pcaps.length).toBeGreaterThanOrEqual(3);
    const perFile = pcaps.map((p) => tsharkRead(join(dir, p)));
    for (const [i, packets] of perFile.entries()) {
      expect(names).toContain(`${pcaps[i]}.idx`);
      expect(packets.length).toBeGreaterThan(0);
    }
    expect(perFile.flat().map((p) => p.payload)).toEqual(sent);
    expect(lo.recording()).toMatchObject({ files: pcaps.length, packets: sent.length, deletedFiles: 0, dropped: {} });

    const out = tempDir('ring-time-out');
    const all = extractToFile(dir, { beginNs: begin, endNs: end }, join(out, 'all.pcap'));
    const extracted = tsharkRead(all.path);
    expect(extracted.map((p) => p.payload)).toEqual(sent);
    expect(all.result.filesRead).toBe(pcaps.length);
    // From the middle of the first file to the middle of the last: a packet-precise window across files.
    const times = extracted.map((p) => p.epochNs);
    const from = 2;
    const to = sent.length - 3;
    const part = extractToFile(dir, { beginNs: times[from], endNs: times[to] }, join(out, 'part.pcap'));
    expect(tsharkRead(part.path).map((p) => p.payload)).toEqual(sent.slice(from, to + 1));
    // Flow B only, across every file.
    const onlyB = extractToFile(dir, { beginNs: begin, endNs: end, bpf: 'udp port 16211' }, join(out, 'b.pcap'));
    expect(tsharkRead(onlyB.path).map((p) => p.payload)).toEqual(sent.filter((_, i) => i % 2));
  });
});
