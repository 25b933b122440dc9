// The sinks of a capture go on after its process is killed and started again: a push
// target's split and an on-demand capture's piece that the killed process was writing
// are completed (never left as `.part`, never overwritten by the new process), and the
// packets sent before and after the kill are all in the files, each once.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect } from 'vitest';
import type { PacketInterface } from '../../src/interfaces/packet-interface.ts';
import { startWithFlags } from '../support/flowbridge.ts';
import { itAsRoot } from '../support/privileges.ts';
import { waitFor } from '../support/wait.ts';
import { payload, sendUdp, tempDir, tsharkRead } from '../recording/support.ts';

const PORT = 16740;
const FROM = 16741;
let fb: Awaited<ReturnType<typeof startWithFlags>> | undefined;
afterEach(async () => {
  await fb?.stop();
  fb = undefined;
});

const json = (body: object): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
/** The tags of the test's datagrams in the pcap files of `dir`, in file order then packet order. */
const tagsIn = (dir: string, names: string[]) => names.flatMap((n) => tsharkRead(join(dir, n)).filter((p) => p.dstPort === PORT).map((p) => p.payload.toString('latin1').split(':')[0]));

itAsRoot('a push target and an on-demand capture go on across a killed capture process, nothing lost or left temporary', 'capture on lo', async () => {
  const out = tempDir('sinks-restart');
  fb = await startWithFlags(['-i', 'lo', '--bpf', `lo=udp port ${PORT}`]);
  const lo = fb.registry.packetInterfaces()[0] as PacketInterface;
  // Byte splits far larger than the test's traffic: the killed process's split is still open when it dies.
  expect((await fb.api('/api/v1/push-targets', json({ desc: 'all', mode: 'FILE', path: join(out, 'all'), split: '--split-byte 100000000', fileName: '--filename-epoch-sec-startend', filterBpf: null, interface: 'lo' }))).status).toBe(201);
  expect((await fb.api(`/api/v1/interfaces/${lo.id}/capture/start`, json({ filter: `udp dst port ${PORT}`, maxCaptureMB: 20 }))).status).toBe(200);
  await waitFor(() => lo.status().state === 'running' && lo.pushStats()[0]?.state === 'running' && lo.onDemandStats()?.state === 'running', 'the sinks running');

  const before = Array.from({ length: 20 }, (_, i) => payload('before', i, 300));
  await sendUdp(FROM, PORT, before);
  await waitFor(() => lo.onDemandStats()!.packets === 20 && lo.pushStats()[0].currentFile, 'the 20 packets in the open split and piece');

  process.kill(lo.capturePid!, 'SIGKILL');
  await waitFor(() => lo.status().state === 'running' && lo.status().restarts === 1, 'the capture to run again', 15_000);
  const after = Array.from({ length: 30 }, (_, i) => payload('after', i, 300));
  await sendUdp(FROM, PORT, after);
  await waitFor(() => lo.onDemandStats()?.packets === 30, 'the 30 packets after the restart in the on-demand capture');

  // On-demand: stopped through the API, its pieces moved into the captures directory.
  const stopped = (await (await fb.api(`/api/v1/interfaces/${lo.id}/capture/stop`, json({}))).json()) as { files: string[] };
  const capturesDir = join(fb.dataDir, 'captures');
  expect(stopped.files).toHaveLength(2);
  expect(readdirSync(capturesDir).filter((n) => n.endsWith('.part'))).toEqual([]);
  const expected = [...before, ...after].map((b) => b.toString('latin1').split(':')[0]);
  expect(tagsIn(capturesDir, stopped.files)).toEqual(expected);

  // Push: the split the killed process left was completed; the new one closes when flowbridge stops.
  await fb.stop();
  fb = undefined;
  const pushed = readdirSync(out);
  expect(pushed.filter((n) => n.endsWith('.part'))).toEqual([]);
  const splits = pushed.filter((n) => n.endsWith('.pcap')).sort();
  expect(splits).toHaveLength(2);
  expect(tagsIn(out, splits)).toEqual(expected);
}, 60_000);
