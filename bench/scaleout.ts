// Scale-out benchmark (issue 16): events per second from a ZMQ producer to merges in a
// packet interface's flow table, through an ingest node → a three-node JetStream cluster
// (replicas 3) → a capture node, against the single process doing both, in the same run.
// Runs alternate (single, split, split, single) so a neighbour's load falls on both alike.
//
// Each run sends EVENTS distinct CONNECT events (JSON arrays of BATCH, the tests' own
// producer) flat out naming interface lo; the target is a real PacketInterface on lo whose
// BPF filter matches no traffic, so the merges are the events'. The figure is events
// merged over the time from the first send to the last merge (polled every 50 ms).
// The capture node runs in a process of its own (`src/main.ts --role capture`), as it
// would on another machine; the ingest node in this one.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCli } from '../src/cli.ts';
import { resolveConfig } from '../src/config.ts';
import { startFlowbridge, type RunningFlowbridge } from '../src/flowbridge.ts';
import type { ScaleOutStats } from '../src/scaleout/scaleout.ts';
import { startNatsCluster, type NatsCluster } from '../test/support/nats.ts';
import { Producer, untilConnected } from '../test/support/producer.ts';
import { onCleanup } from './children.ts';

const EVENTS = 100_000;
const BATCH = 100;
const POLL_MS = 50;

export interface ScaleoutRun {
  mode: 'single' | 'split';
  events: number;
  merged: number;
  seconds: number;
  eventsPerSecond: number;
  /** Split runs: events the ingest node could not publish (outbox full), and publish retries. */
  dropped?: number;
  retries?: number;
}

export interface ScaleoutResult {
  events: number;
  batch: number;
  runs: ScaleoutRun[];
  singleEventsPerSecond: number;
  splitEventsPerSecond: number;
  /** split / single, from the sums of the alternated runs. */
  ratio: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function batches(): object[][] {
  const out: object[][] = [];
  for (let b = 0; b < EVENTS / BATCH; b++) {
    out.push(Array.from({ length: BATCH }, (_, j) => {
      const i = b * BATCH + j;
      return {
        timestamp: '1557135868.956831', TCP_EVENT_TYPE: 'CONNECT', IF_NAME: 'lo', IP_PROTOCOL_VERSION: 4, PROTOCOL: 6,
        IPV4_LOCAL_ADDR: `10.77.${(i >> 16) & 255}.${(i >> 8) & 255}`, IPV4_REMOTE_ADDR: '10.78.0.1', L4_LOCAL_PORT: 1024 + (i & 255), L4_REMOTE_PORT: 443,
        LOCAL_PROCESS: { PID: 1000 + (i % 64), UID: 1000, UID_NAME: 'bench', PROCESS_PATH: '/usr/bin/bench' },
      };
    }));
  }
  return out;
}

async function startIngest(argv: string[], dataDir: string): Promise<RunningFlowbridge> {
  return startFlowbridge(resolveConfig({}, parseCli(['--data-dir', dataDir, '--max-flows', '1000000', ...argv], {}).flags), { http: false });
}

/** Sends every batch; resolves with the time of the first send. */
async function send(endpoint: string, fb: RunningFlowbridge, payloads: object[][]): Promise<{ producer: Producer; start: number }> {
  const producer = Producer.connect(endpoint);
  const zmq = fb.registry.zmqInterfaces()[0];
  await untilConnected(() => producer.send('hello', {}), () => (zmq.collectorStats().messages.hello ?? 0) > 0);
  const start = performance.now();
  for (const p of payloads) await producer.send('flow', p);
  return { producer, start };
}

/** Polls `merged()` until it reaches `n` or stops moving for 10 s; the time of the last change. */
async function mergedBy(merged: () => Promise<number> | number, n: number): Promise<{ merged: number; at: number }> {
  let last = -1;
  let at = performance.now();
  let still = performance.now();
  for (;;) {
    const m = await merged();
    const now = performance.now();
    if (m !== last) {
      last = m;
      at = now;
      still = now;
    }
    if (m >= n || now - still > 10_000) return { merged: m, at };
    await sleep(POLL_MS);
  }
}

async function single(work: string, payloads: object[][]): Promise<ScaleoutRun> {
  const port = await freePort();
  const fb = await startIngest(['-i', `tcp://127.0.0.1:${port}c`, '-i', 'lo', '--bpf', 'lo=udp port 9 and udp port 10'], join(work, `single-${port}`));
  try {
    const lo = fb.registry.resolve('lo')!;
    const { producer, start } = await send(`tcp://127.0.0.1:${port}`, fb, payloads);
    const r = await mergedBy(() => fb.dispatcher.stats().find((d) => d.interfaceId === lo.id)!.delivered.name - fb.dispatcher.stats().find((d) => d.interfaceId === lo.id)!.queueSize, EVENTS);
    producer.close();
    const seconds = (r.at - start) / 1000;
    return { mode: 'single', events: EVENTS, merged: r.merged, seconds, eventsPerSecond: r.merged / seconds };
  } finally {
    await fb.stop();
  }
}

async function status(url: string): Promise<ScaleOutStats | undefined> {
  try {
    return ((await (await fetch(`${url}/api/v1/status`)).json()) as { scaleout?: ScaleOutStats }).scaleout;
  } catch {
    return undefined;
  }
}

async function split(work: string, payloads: object[][]): Promise<ScaleoutRun> {
  const cluster: NatsCluster = await startNatsCluster(3);
  const port = await freePort();
  const http = await freePort();
  let child: ChildProcess | undefined;
  let ingest: RunningFlowbridge | undefined;
  try {
    child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '-i', 'lo', '--bpf', 'lo=udp port 9 and udp port 10', '--nats', cluster.urls, '--role', 'capture', '--node-name', 'benchcap',
      '--no-agent', '--http', `127.0.0.1:${http}`, '--data-dir', join(work, `cap-${http}`), '--max-flows', '1000000'], { stdio: ['ignore', 'ignore', 'inherit'], cwd: new URL('..', import.meta.url).pathname });
    const url = `http://127.0.0.1:${http}`;
    for (let i = 0; !(await status(url))?.consumers?.[0]?.running; i++) {
      if (i > 600) throw new Error('the capture node did not start consuming');
      await sleep(100);
    }
    ingest = await startIngest(['-i', `tcp://127.0.0.1:${port}c`, '--nats', cluster.urls, '--role', 'ingest', '--node-name', 'benching', '--nats-buffer', String(EVENTS * 2)], join(work, `ing-${port}`));
    const ing = ingest.scaleout!;
    while (!ing.stats().ingest!.targets.includes('lo')) await sleep(50);
    const { producer, start } = await send(`tcp://127.0.0.1:${port}`, ingest, payloads);
    const r = await mergedBy(async () => (await status(url))?.consumers?.[0]?.merged ?? 0, EVENTS);
    producer.close();
    const s = ing.stats();
    const seconds = (r.at - start) / 1000;
    return { mode: 'split', events: EVENTS, merged: r.merged, seconds, eventsPerSecond: r.merged / seconds, dropped: s.outbox.dropped.events, retries: s.outbox.retries };
  } finally {
    await ingest?.stop();
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    await cluster.stop();
  }
}

export async function scaleoutBench(log: (line: string) => void): Promise<ScaleoutResult> {
  const work = mkdtempSync(join(tmpdir(), 'fb-bench-scaleout-'));
  const unregister = onCleanup(() => rmSync(work, { recursive: true, force: true }));
  const payloads = batches();
  const runs: ScaleoutRun[] = [];
  try {
    for (const mode of ['single', 'split', 'split', 'single'] as const) {
      const r = mode === 'single' ? await single(work, payloads) : await split(work, payloads);
      log(`  scaleout ${mode}: ${r.merged}/${r.events} events merged in ${r.seconds.toFixed(2)} s = ${Math.round(r.eventsPerSecond)} events/s${r.dropped !== undefined ? ` (outbox drops ${r.dropped}, publish retries ${r.retries})` : ''}`);
      runs.push(r);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
    unregister();
  }
  const rate = (mode: ScaleoutRun['mode']) => {
    const rs = runs.filter((r) => r.mode === mode);
    return rs.reduce((n, r) => n + r.merged, 0) / rs.reduce((n, r) => n + r.seconds, 0);
  };
  const singleRate = rate('single');
  const splitRate = rate('split');
  return { events: EVENTS, batch: BATCH, runs, singleEventsPerSecond: singleRate, splitEventsPerSecond: splitRate, ratio: splitRate / singleRate };
}

export function renderScaleout(r: ScaleoutResult): string {
  return [
    '',
    `Scale-out: ${r.events} events (JSON arrays of ${r.batch}) from a ZMQ producer to merges into lo's flow table`,
    '| path | events/s | vs single process |',
    '|---|---|---|',
    `| single process (ZMQ → dispatch → merge) | ${Math.round(r.singleEventsPerSecond)} | 1.00 |`,
    `| ingest node → JetStream (3 servers, replicas 3) → capture node | ${Math.round(r.splitEventsPerSecond)} | ${r.ratio.toFixed(2)} |`,
  ].join('\n');
}
