// A recording killed mid-write (SIGKILL of the capture process) leaves its file under
// the temporary name, possibly ending in a torn record. The next recording on the same
// directory repairs it before writing: cut at its last whole record, renamed, indexed,
// logged; tshark reads it and an extraction gives back exactly what was sent before the
// kill. A closed file that lost its index gets it rebuilt the same way.
import { appendFileSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { PacketInterface } from '../../src/interfaces/packet-interface.ts';
import { readFileFlows, readFileIndex, type IndexedFlow } from '../../src/recording/file-index.ts';
import { RecordingWriter } from '../../src/recording/writer.ts';
import { describeAsRoot } from '../support/privileges.ts';
import { waitFor } from '../support/wait.ts';
import {
  captureChildPid, closedPcaps, extractToFile, logLine, nowNs, payload, recordingSettings, recordLo, seen, tempDir, tsharkRead, udpRecordBytes,
  udpSender,
} from './support.ts';

const running: PacketInterface[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop()));
});

const FILTER = 'udp and (port 16220 or port 16221 or port 16222)';
const partFiles = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.part'));

describeAsRoot('recording after a crash', 'capture on lo', () => {
  it('repairs the file a killed recording was writing: cut at its last whole record, renamed, indexed, extractable', async () => {
    const dir = tempDir('crash');
    const settings = recordingSettings(dir);
    // A crash of flowbridge, not of its capture alone: the killed capture is not started again here.
    const first = await recordLo(21, FILTER, settings, { supervision: { minBackoffMs: 3_600_000 } });
    running.push(first);
    const begin = nowNs();
    const a = Array.from({ length: 40 }, (_, i) => payload('A', i, 300 + i * 20));
    const b = Array.from({ length: 25 }, (_, i) => payload('B', i, 1200));
    const sa = await udpSender(16270);
    const sb = await udpSender(16271);
    await sa.send(16220, a.slice(0, 20));
    await sb.send(16221, b);
    await sa.send(16220, a.slice(20));
    sa.close();
    sb.close();
    const sent = [...a.slice(0, 20), ...b, ...a.slice(20)];
    await seen(first, sent.length);

    // Every datagram has reached the file being written (a write per capture tick), then the capture is killed.
    const recorded = 24 + sent.reduce((n, d) => n + udpRecordBytes(d.length), 0);
    const part = await waitFor(() => {
      const p = partFiles(dir)[0];
      return p !== undefined && statSync(join(dir, p)).size >= recorded && p;
    }, 'the datagrams written to the .part file');
    expect(first.recording().bytes).toBeGreaterThan(0);
    process.kill(captureChildPid(), 'SIGKILL');
    await waitFor(() => first.status().state === 'error', 'the capture seen ended');
    const killedAt = nowNs();
    expect(first.status().error).toMatch(/ended unexpectedly \(SIGKILL\)/);
    expect(partFiles(dir)).toEqual([part]);
    expect(statSync(join(dir, part)).size).toBe(recorded);

    // A torn write: the next record's header and part of its data reached the disk.
    const whole = readFileSync(join(dir, part));
    const lastRecord = whole.subarray(whole.length - udpRecordBytes(a[39].length));
    appendFileSync(join(dir, part), lastRecord.subarray(0, 16 + 100));

    const second = await recordLo(22, FILTER, settings);
    running.push(second);
    await logLine(second, /recovered \.\d{8}-\S+\.pcap\.part after an unclean stop; index rebuilt/);
    const log = second.recording().log.join('\n');
    expect(log).toMatch(/was cut at its last whole record \(116 bytes of a partial record removed\)/);
    expect(partFiles(dir).filter((p) => p === part)).toEqual([]);
    const name = part.replace(/^\.(.*)\.part$/, '$1');
    expect(closedPcaps(dir)).toEqual([name]);
    expect(statSync(join(dir, name)).size).toBe(recorded);
    expect(readFileSync(join(dir, name))).toEqual(whole);
    const index = readFileIndex(join(dir, `${name}.idx`))!;
    expect(index).toBeDefined();
    expect(index.packets).toBe(sent.length);
    expect(index.fileBytes).toBe(recorded);
    expect(readFileFlows(join(dir, `${name}.idx`)).map((f) => [f.key, f.packets]).sort()).toEqual([
      ['17|127.0.0.1|16220|127.0.0.1|16270', 40],
      ['17|127.0.0.1|16221|127.0.0.1|16271', 25],
    ]);
    expect(tsharkRead(join(dir, name)).map((p) => p.payload)).toEqual(sent);

    // Extraction: exactly what was sent before the kill, by window and by flow key.
    const out = tempDir('crash-out');
    const before = extractToFile(dir, { beginNs: begin, endNs: killedAt }, join(out, 'before.pcap'));
    expect(tsharkRead(before.path).map((p) => p.payload)).toEqual(sent);
    const flowB = extractToFile(dir, { beginNs: begin, endNs: killedAt, flows: new Set(['17|127.0.0.1|16221|127.0.0.1|16271']) }, join(out, 'b.pcap'));
    expect(tsharkRead(flowB.path).map((p) => p.payload)).toEqual(b);

    // The repaired directory goes on: new packets go to the next file, the repaired one stays.
    const c = Array.from({ length: 10 }, (_, i) => payload('C', i, 500));
    const sc = await udpSender(16272);
    await sc.send(16222, c);
    sc.close();
    await seen(second, c.length);
    await second.stop();
    const pcaps = closedPcaps(dir);
    expect(pcaps).toHaveLength(2);
    expect(pcaps[0]).toBe(name);
    expect(partFiles(dir)).toEqual([]);
    expect(tsharkRead(join(dir, pcaps[1])).map((p) => p.payload)).toEqual(c);
    const all = extractToFile(dir, { beginNs: begin, endNs: nowNs() }, join(out, 'all.pcap'));
    expect(tsharkRead(all.path).map((p) => p.payload)).toEqual([...sent, ...c]);
  });

  it('repairs a file killed with only part of a record header written', async () => {
    const dir = tempDir('crash-header');
    const settings = recordingSettings(dir);
    // Not started again here: the writer below repairs the file itself.
    const first = await recordLo(23, FILTER, settings, { supervision: { minBackoffMs: 3_600_000 } });
    running.push(first);
    const begin = nowNs();
    const sent = Array.from({ length: 12 }, (_, i) => payload('H', i, 700));
    const s = await udpSender(16273);
    await s.send(16220, sent);
    s.close();
    await seen(first, sent.length);
    const recorded = 24 + sent.reduce((n, d) => n + udpRecordBytes(d.length), 0);
    const part = await waitFor(() => {
      const p = partFiles(dir)[0];
      return p !== undefined && statSync(join(dir, p)).size >= recorded && p;
    }, 'the datagrams written to the .part file');
    process.kill(captureChildPid(), 'SIGKILL');
    await waitFor(() => first.status().state === 'error', 'the capture seen ended');
    const killedAt = nowNs();
    // 10 bytes of a 16-byte record header: time and the first half of the captured length.
    const whole = readFileSync(join(dir, part));
    appendFileSync(join(dir, part), whole.subarray(24, 34));

    // Repaired by the writer itself, as a restarted capture process would.
    const w = new RecordingWriter(settings, 1);
    w.close();
    const log = w.stats().log.join('\n');
    expect(log).toMatch(/was cut at its last whole record \(10 bytes of a partial record removed\)/);
    expect(log).toMatch(/recovered \S+ after an unclean stop; index rebuilt/);
    const name = part.replace(/^\.(.*)\.part$/, '$1');
    expect(readdirSync(dir).sort()).toEqual([name, `${name}.flows`, `${name}.idx`]);
    expect(readFileSync(join(dir, name))).toEqual(whole);
    expect(readFileFlows(join(dir, `${name}.idx`)).map((f) => [f.key, f.packets])).toEqual([['17|127.0.0.1|16220|127.0.0.1|16273', 12]]);
    expect(tsharkRead(join(dir, name)).map((p) => p.payload)).toEqual(sent);
    const out = tempDir('crash-header-out');
    const before = extractToFile(dir, { beginNs: begin, endNs: killedAt }, join(out, 'before.pcap'));
    expect(before.result.packets).toBe(sent.length);
    expect(tsharkRead(before.path).map((p) => p.payload)).toEqual(sent);
  });

  it('rebuilds the index of a closed file that lost it, equal to the one written live', async () => {
    const dir = tempDir('crash-idx');
    const settings = recordingSettings(dir);
    const lo = await recordLo(24, FILTER, settings);
    running.push(lo);
    const begin = nowNs();
    const a = Array.from({ length: 30 }, (_, i) => payload('I', i, 100 + i * 30));
    const b = Array.from({ length: 8 }, (_, i) => payload('J', i, 900));
    const sa = await udpSender(16274);
    const sb = await udpSender(16275);
    await sa.send(16220, a.slice(0, 15));
    await sb.send(16221, b);
    await sa.send(16220, a.slice(15));
    sa.close();
    sb.close();
    await seen(lo, a.length + b.length);
    await waitFor(() => lo.recording().packets >= a.length + b.length, 'every datagram recorded');
    await lo.stop();
    const [name] = closedPcaps(dir);
    const idx = join(dir, `${name}.idx`);
    const live = readFileIndex(idx)!;
    const liveFlows = readFileFlows(idx);
    expect(live.packets).toBe(a.length + b.length);
    unlinkSync(idx);

    const w = new RecordingWriter(settings, 1);
    w.close();
    expect(w.stats().log.join('\n')).toMatch(new RegExp(`index of ${name.replace('.', '\\.')} was missing or partial; rebuilt`));
    const rebuilt = readFileIndex(idx)!;
    expect(rebuilt).toBeDefined();
    // Same file, same blocks, same flows (times are kept to the microsecond when rebuilt).
    const shape = (x: typeof live, flows: IndexedFlow[]) => ({
      packets: x.packets, fileBytes: x.fileBytes, blocks: x.blocks.map(([offset, , , n]) => [offset, n]), unkeyed: x.unkeyed,
      flows: flows.map((f) => [f.key, f.packets, f.bytes, f.offsets]).sort(),
    });
    expect(shape(rebuilt, readFileFlows(idx))).toEqual(shape(live, liveFlows));
    expect(rebuilt.firstMs).toBeCloseTo(live.firstMs, 2);
    expect(rebuilt.lastMs).toBeCloseTo(live.lastMs, 2);
    const out = tempDir('crash-idx-out');
    const flowJ = extractToFile(dir, { beginNs: begin, endNs: nowNs(), flows: new Set(['17|127.0.0.1|16221|127.0.0.1|16275']) }, join(out, 'j.pcap'));
    expect(tsharkRead(flowJ.path).map((p) => p.payload)).toEqual(b);
    expect(tsharkRead(join(dir, name)).map((p) => p.payload)).toEqual([...a.slice(0, 15), ...b, ...a.slice(15)]);
  });
});
