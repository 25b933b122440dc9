// Continuous recording on lo, read back by tshark: whole packets in nanosecond pcap,
// files closed under their final name with an index, extraction by time window, BPF
// and flow key equal to exactly what was sent, and empty extractions that say why.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { PacketInterface } from '../../src/interfaces/packet-interface.ts';
import { readFileFlows } from '../../src/recording/file-index.ts';
import { ExtractionError } from '../../src/recording/reader.ts';
import { describeAsRoot } from '../support/privileges.ts';
import { extractToFile, nowNs, payload, pcapMagic, recordingSettings, recordLo, seen, sendTcp, sendUdp, tempDir, tsharkRead } from './support.ts';

const running: PacketInterface[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop()));
});

describeAsRoot('continuous recording', 'capture on lo', () => {
  it('records whole packets and extracts them by window, BPF and flow key, exactly as sent', async () => {
    const dir = tempDir('rec');
    const lo = await recordLo(1, 'port 16100 or port 16101 or port 16102', recordingSettings(dir));
    running.push(lo);
    const begin = nowNs();
    const flowA = Array.from({ length: 5 }, (_, i) => payload('A', i, 1000));
    const flowB = Array.from({ length: 3 }, (_, i) => payload('B', i, 3000));
    const tcpBytes = payload('T', 0, 20_000);
    await sendUdp(16150, 16100, flowA);
    await sendUdp(16151, 16101, flowB);
    const tcpClient = await sendTcp(16102, tcpBytes);
    await seen(lo, 8 + 6);
    await new Promise((r) => setTimeout(r, 300)); // the TCP teardown's last packets
    await lo.stop();
    const end = nowNs();

    const names = readdirSync(dir);
    expect(names.filter((n) => n.endsWith('.part'))).toEqual([]);
    const pcaps = names.filter((n) => n.endsWith('.pcap'));
    expect(pcaps).toHaveLength(1);
    expect(names).toContain(`${pcaps[0]}.idx`);
    expect(names).toContain(`${pcaps[0]}.flows`);
    const recorded = readFileSync(join(dir, pcaps[0]));
    expect(pcapMagic(recorded)).toBe('a1b23c4d');
    const stats = lo.recording();
    expect(stats).toMatchObject({ enabled: true, files: 1, dropped: {} });

    // The recorded file itself, read by tshark: every datagram whole.
    const all = tsharkRead(join(dir, pcaps[0]));
    const udp = all.filter((p) => p.protocol === 'udp');
    expect(udp.map((p) => p.payload)).toEqual([...flowA, ...flowB]);
    const tcp = all.filter((p) => p.protocol === 'tcp');
    expect(Buffer.concat(tcp.filter((p) => p.srcPort === tcpClient).map((p) => p.payload))).toEqual(tcpBytes);
    expect(stats.packets).toBe(all.length);

    // By window: everything.
    const out = tempDir('out');
    const window = extractToFile(dir, { beginNs: begin, endNs: end }, join(out, 'all.pcap'));
    expect(window.result.packets).toBe(all.length);
    expect(tsharkRead(window.path).map((p) => p.payload)).toEqual(all.map((p) => p.payload));

    // By BPF: only flow B.
    const bpf = extractToFile(dir, { beginNs: begin, endNs: end, bpf: 'udp and port 16101' }, join(out, 'b.pcap'));
    expect(tsharkRead(bpf.path).map((p) => p.payload)).toEqual(flowB);

    // By flow key (the flows API's key): only flow A.
    const keyA = '17|127.0.0.1|16100|127.0.0.1|16150';
    expect(readFileFlows(join(dir, `${pcaps[0]}.idx`)).map((f) => f.key)).toContain(keyA);
    const byFlow = extractToFile(dir, { beginNs: begin, endNs: end, flows: new Set([keyA]) }, join(out, 'a.pcap'));
    expect(tsharkRead(byFlow.path).map((p) => p.payload)).toEqual(flowA);

    // The TCP flow by key, both directions, handshake to teardown.
    const keyT = `6|127.0.0.1|16102|127.0.0.1|${tcpClient}`;
    const byTcp = extractToFile(dir, { beginNs: begin, endNs: end, flows: new Set([keyT]) }, join(out, 't.pcap'));
    expect(byTcp.result.packets).toBe(tcp.length);

    // Packet-precise window: from the third datagram of A to the second of B.
    const times = udp.map((p) => p.epochNs);
    const precise = extractToFile(dir, { beginNs: times[2], endNs: times[6] }, join(out, 'precise.pcap'));
    expect(tsharkRead(precise.path).filter((p) => p.protocol === 'udp').map((p) => p.payload)).toEqual([...flowA.slice(2), ...flowB.slice(0, 2)]);

    // Empty results say why.
    const later = extractToFile(dir, { beginNs: end + 1_000_000_000n, endNs: end + 2_000_000_000n }, join(out, 'later.pcap'));
    expect(later.result).toMatchObject({ packets: 0, emptyReason: 'nothing-in-window' });
    expect(tsharkRead(later.path)).toEqual([]);
    const none = extractToFile(dir, { beginNs: begin, endNs: end, bpf: 'port 9' }, join(out, 'none.pcap'));
    expect(none.result).toMatchObject({ packets: 0, emptyReason: 'filter-matched-nothing' });
    const nowhere = extractToFile(tempDir('empty'), { beginNs: begin, endNs: end }, join(out, 'nowhere.pcap'));
    expect(nowhere.result.emptyReason).toBe('nothing-recorded');
    expect(() => extractToFile(dir, { beginNs: begin, endNs: end, bpf: 'port banana' }, join(out, 'bad.pcap'))).toThrow(ExtractionError);
  });
});
