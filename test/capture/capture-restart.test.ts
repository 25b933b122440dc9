// Supervision of a live capture as an operator meets it: `kill -9` of lo's capture
// process while it records. The interface shows the problem while it is down, captures
// again within seconds (packets sent afterwards are counted), the restart is counted in
// the status and /metrics, the problem clears, the flows held stay, and the file the
// killed process was writing is completed and readable beside the new one.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect } from 'vitest';
import type { PacketInterface } from '../../src/interfaces/packet-interface.ts';
import { startWithFlags } from '../support/flowbridge.ts';
import { itAsRoot } from '../support/privileges.ts';
import { waitFor } from '../support/wait.ts';
import { payload, sendUdp, tsharkRead } from '../recording/support.ts';

const PORT = 16710;
const FROM = 16711;
type Started = Awaited<ReturnType<typeof startWithFlags>>;
let fb: Started | undefined;
afterEach(async () => {
  await fb?.stop();
  fb = undefined;
});

interface View {
  status: { state: string; error?: string; restarts?: number };
  problems: string[];
  capture: { packets: number };
}

itAsRoot('a capture process killed with SIGKILL is restarted: counted, shown as a problem until it captures again, flows and recording kept', 'capture on lo', async () => {
  fb = await startWithFlags(['-i', 'lo', '--bpf', `lo=udp port ${PORT}`, '--record', 'lo=50MB']);
  const lo = fb.registry.packetInterfaces()[0] as PacketInterface;
  const view = async () => (await (await fb!.api(`/api/v1/interfaces/${lo.id}`)).json()) as View;
  const flowPackets = () => lo.flows.query({ port: PORT }).flows[0]?.packets ?? 0;

  await sendUdp(FROM, PORT, Array.from({ length: 20 }, (_, i) => payload('before', i, 200)));
  await waitFor(() => flowPackets() === 20, 'the 20 packets before the kill in their flow');
  const before = lo.flows.query({ port: PORT }).flows[0];
  expect((await view()).status).toEqual({ state: 'running' });

  const killed = lo.capturePid!;
  process.kill(killed, 'SIGKILL');
  // While it is down the interface says why, as a problem of its own.
  const down = await waitFor(async () => {
    const v = await view();
    return v.status.state === 'error' && v.problems.length > 0 && v;
  }, 'the interface to show the dead capture as a problem', 10_000, 10);
  expect(down.status.error).toMatch(/^capture on lo ended unexpectedly \(SIGKILL\); restarting in \d+ ms$/);
  expect(down.problems).toEqual([expect.stringMatching(/^interface lo: capture on lo ended unexpectedly \(SIGKILL\)/)]);

  const up = await waitFor(async () => {
    const v = await view();
    return v.status.state === 'running' && v;
  }, 'the capture to run again', 15_000);
  expect(up.status).toEqual({ state: 'running', restarts: 1 });
  expect(up.problems).toEqual([]);
  expect(lo.capturePid).not.toBe(killed);

  // Packets sent after the restart are captured into the flow held from before.
  await sendUdp(FROM, PORT, Array.from({ length: 30 }, (_, i) => payload('after', i, 200)));
  await waitFor(() => flowPackets() === 50, 'the 30 packets after the restart in the same flow');
  const after = lo.flows.query({ port: PORT }).flows[0];
  expect(after.firstSeen).toBe(before.firstSeen);
  // The interface's counters carry on across the restart (Prometheus counters never go back).
  expect((await view()).capture.packets).toBe(50);

  const metrics = await (await fb.api('/metrics')).text();
  expect(metrics).toMatch(/^flowbridge_capture_restarts_total\{interface="lo"\} 1$/m);
  expect(metrics).toMatch(/^flowbridge_capture_packets_total\{interface="lo"\} 50$/m);

  // The recording goes on in a new file; the killed process's file was completed (not left
  // under its temporary name) and both read back: every packet, once.
  const dir = join(fb.dataDir, 'pcap', String(lo.id));
  await fb.stop();
  fb = undefined;
  const files = readdirSync(dir).filter((f) => f.endsWith('.pcap'));
  expect(readdirSync(dir).filter((f) => f.endsWith('.part'))).toEqual([]);
  expect(files.length).toBe(2);
  const read = files.sort().map((f) => tsharkRead(join(dir, f)).filter((p) => p.dstPort === PORT).map((p) => p.payload.toString('latin1').split(':')[0]));
  expect(read[0]).toEqual(Array.from({ length: 20 }, (_, i) => `before#${i}`));
  expect(read[1]).toEqual(Array.from({ length: 30 }, (_, i) => `after#${i}`));
}, 60_000);
