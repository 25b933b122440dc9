// Capture benchmark: UDP offered at fixed rates on lo; packets counted by our packet
// interface (capture process → decode → per-flow deltas → flow table), by a bare cap
// counting loop, and by `tcpdump -w /dev/null`, one after the other at the same rates.
import { execFile, fork, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { PacketInterface } from '../src/interfaces/packet-interface.ts';
import { TSX_LOADER } from '../src/runtime/ts-worker.ts';

const run = promisify(execFile);
const PORT = 17001;
const FILTER = `udp dst port ${PORT}`;
const SECONDS = 3;
const PAYLOAD = 64;

/** Each method gets its own run of the generator: `sent` is per method. */
export interface CaptureRow {
  offeredPps: number;
  flowbridge: { sent: number; captured: number };
  bareCap: { sent: number; captured: number };
  tcpdump: { sent: number; captured: number; kernelDrops: number };
}

const offer = async (udpgen: string, pps: number) =>
  Number(/sent (\d+)/.exec((await run(udpgen, ['127.0.0.1', String(PORT), String(pps), String(SECONDS), String(PAYLOAD)])).stdout)![1]);
const settle = () => new Promise((r) => setTimeout(r, 500));

async function ours(udpgen: string, pps: number): Promise<[number, number]> {
  const lo = new PacketInterface({ id: 0, name: 'lo', device: 'lo', filter: FILTER, flowTable: { maxFlows: 100_000 } });
  await lo.start();
  await settle();
  const sent = await offer(udpgen, pps);
  await settle();
  const captured = lo.capture().packets;
  const inFlows = lo.flows.query({ port: PORT, limit: 10_000 }).flows.reduce((a, f) => a + f.packets, 0);
  await lo.stop();
  if (inFlows !== captured) throw new Error(`flow table holds ${inFlows} packets of ${captured} captured`);
  return [sent, inFlows];
}

async function bareCap(udpgen: string, pps: number): Promise<[number, number]> {
  const child = fork(new URL('./bare-cap.ts', import.meta.url).pathname, ['lo', FILTER], { execArgv: ['--import', TSX_LOADER], stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  await new Promise((r) => child.once('message', r));
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const sent = await offer(udpgen, pps);
  await settle();
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return [sent, Number(/captured (\d+)/.exec(out)![1])];
}

async function tcpdump(udpgen: string, pps: number): Promise<[number, number, number]> {
  const child = spawn('tcpdump', ['-i', 'lo', '-n', '-B', '16384', '-w', '/dev/null', FILTER], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  await new Promise<void>((resolve) => {
    const check = setInterval(() => err.includes('listening') && (clearInterval(check), resolve()), 20);
  });
  const sent = await offer(udpgen, pps);
  await settle();
  child.kill('SIGINT');
  await new Promise((r) => child.once('exit', r));
  return [sent, Number(/(\d+) packets captured/.exec(err)![1]), Number(/(\d+) packets dropped by kernel/.exec(err)?.[1] ?? 0)];
}

export async function capture(udpgen: string, rates: number[], log: (l: string) => void): Promise<CaptureRow[]> {
  const rows: CaptureRow[] = [];
  for (const pps of rates) {
    const [sent, captured] = await ours(udpgen, pps);
    const [bareSent, bareCaptured] = await bareCap(udpgen, pps);
    const [tdSent, tdCaptured, kernelDrops] = await tcpdump(udpgen, pps);
    const row: CaptureRow = {
      offeredPps: pps,
      flowbridge: { sent, captured },
      bareCap: { sent: bareSent, captured: bareCaptured },
      tcpdump: { sent: tdSent, captured: tdCaptured, kernelDrops },
    };
    rows.push(row);
    log(`  capture at ${pps} pps: flowbridge ${captured}/${sent}, bare cap ${bareCaptured}/${bareSent}, tcpdump ${tdCaptured}/${tdSent}`);
  }
  return rows;
}
