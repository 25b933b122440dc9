// SIGTERM under load, as a service manager sends it, and SIGINT to the process group, as
// Ctrl-C does: flowbridge (npm start's own entry, in its own process) captures and records
// lo while UDP floods it, runs an on-demand capture, and receives ZMQ events. It exits
// within --stop-timeout, saying it stopped, and every pcap file it leaves is complete:
// none under a temporary name, each read back whole by tcpdump. A stop cut short by its
// bound says what it had not done, and the capture processes still complete their files.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect } from 'vitest';
import { TSX_LOADER } from '../../src/runtime/ts-worker.ts';
import { fixture } from '../support/fixtures.ts';
import { itAsRoot } from '../support/privileges.ts';
import { Producer } from '../support/producer.ts';
import { waitFor } from '../support/wait.ts';

const UDP_PORT = 16730;
const ZMQ_PORT = 16731;
const STOP_TIMEOUT_S = 10;
const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;
const children: ChildProcess[] = [];
let producer: Producer | undefined;
afterEach(() => {
  producer?.close();
  producer = undefined;
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => join(d.parentPath, d.name));
}

/** Packets tcpdump reads from `path`; throws (tcpdump exits non-zero) on a damaged file. */
function tcpdumpCount(path: string): number {
  const out = execFileSync('tcpdump', ['-n', '-r', path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 512 * 1024 * 1024 });
  return out.split('\n').filter(Boolean).length;
}

/** Pids of the capture processes of process `pid`. */
function captureProcesses(pid: number): number[] {
  const lines = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(pid)]).toString().split('\n');
  return lines.filter((l) => l.includes('capture-process.ts')).map((l) => Number(l.trim().split(/\s+/)[0]));
}

const gone = (pid: number) => {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
};

interface Loaded {
  fb: ChildProcess;
  dataDir: string;
  output(): string;
  exited(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Ends the load (after the stop). */
  unload(): void;
}

/**
 * flowbridge in its own process group (Ctrl-C signals the whole group: the capture
 * processes too), recording lo and running an on-demand capture, under a UDP flood and a
 * stream of ZMQ events; resolves once both have been taken in.
 */
async function flowbridgeUnderLoad(stopTimeout: string): Promise<Loaded> {
  const dataDir = mkdtempSync(join(tmpdir(), 'fb-stop-'));
  let out = '';
  const fb = spawn(process.execPath, ['--import', TSX_LOADER, MAIN, '--no-agent', '--http', '127.0.0.1:0', '--data-dir', dataDir,
    '-i', `tcp://127.0.0.1:${ZMQ_PORT}c`, '-i', 'lo', '--bpf', `lo=udp port ${UDP_PORT}`, '--record', 'lo=64MB', '--stop-timeout', stopTimeout],
  { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  children.push(fb);
  fb.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  fb.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  fb.on('exit', (code, signal) => (exited = { code, signal }));
  const url = await waitFor(() => /web pages (http:\/\/127\.0\.0\.1:\d+)\//.exec(out)?.[1], 'flowbridge to serve', 30_000);
  const api = async (path: string, init?: RequestInit) => (await fetch(`${url}/api/v1${path}`, init)).json() as Promise<Record<string, any>>;
  await waitFor(async () => (await api('/interfaces/1')).status.state === 'running', 'the capture on lo', 20_000);
  const started = await api('/interfaces/1/capture/start', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ filter: `udp dst port ${UDP_PORT}`, maxCaptureMB: 5 }) });
  expect(started).toMatchObject({ status: 'Running' });

  const sender = spawn(process.execPath, ['-e', `
    const s = require('dgram').createSocket('udp4');
    const b = Buffer.alloc(300, 7);
    const burst = () => { for (let i = 0; i < 200; i++) s.send(b, ${UDP_PORT}, '127.0.0.1'); setImmediate(burst); };
    burst();`], { stdio: 'ignore' });
  children.push(sender);
  producer = Producer.connect(`tcp://127.0.0.1:${ZMQ_PORT}`);
  const event = fixture('ebpflowexport-connect-docker');
  const events = setInterval(() => void producer?.send('flow', event).catch(() => {}), 5);
  const unload = () => {
    clearInterval(events);
    sender.kill('SIGKILL');
  };
  try {
    await waitFor(async () => {
      const i = await api('/interfaces/1');
      const z = await api('/interfaces/0');
      return i.capture.packets > 20_000 && Object.values(z.collector.events as Record<string, number>).reduce((a, b) => a + b, 0) > 0;
    }, 'packets captured and events received under load', 30_000);
  } catch (err) {
    unload();
    throw err;
  }
  return { fb, dataDir, output: () => out, exited: () => exited, unload };
}

/** The pcap files left: none under a temporary name; recordings and on-demand pieces each read whole by tcpdump. */
function expectCompleteFiles(dataDir: string): void {
  const files = filesUnder(dataDir);
  expect(files.filter((f) => f.endsWith('.part'))).toEqual([]);
  const recorded = files.filter((f) => f.startsWith(join(dataDir, 'pcap')) && f.endsWith('.pcap'));
  const pieces = files.filter((f) => /\/captures\/(\.running\/[^/]+\/)?capture-[^/]+\.pcap\d+$/.test(f));
  expect(recorded.length).toBeGreaterThan(0);
  expect(pieces.length).toBeGreaterThan(0);
  expect(recorded.reduce((n, f) => n + tcpdumpCount(f), 0)).toBeGreaterThan(20_000);
  expect(pieces.reduce((n, f) => n + tcpdumpCount(f), 0)).toBeGreaterThan(0);
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) itAsRoot(`${signal} under load: exits within the stop bound, every recording and capture file complete and readable`, 'capture on lo', async () => {
  const run = await flowbridgeUnderLoad(String(STOP_TIMEOUT_S));
  try {
    if (signal === 'SIGINT') process.kill(-run.fb.pid!, 'SIGINT');
    else run.fb.kill(signal);
    // The bound, and a second for the process to be reaped: never more.
    await waitFor(run.exited, `flowbridge to exit within --stop-timeout ${STOP_TIMEOUT_S} s`, (STOP_TIMEOUT_S + 1) * 1000, 20);
  } finally {
    run.unload();
  }
  expect(run.exited()).toEqual({ code: 0, signal: null });
  expect(run.output()).toMatch(new RegExp(`flowbridge: ${signal}, stopping`));
  expect(run.output()).toMatch(/flowbridge: stopped\n/);
  expect(run.output()).not.toMatch(/not stopped within|failed/);
  // The on-demand capture was stopped: its pieces moved into the captures directory.
  expect(filesUnder(join(run.dataDir, 'captures', '.running'))).toEqual([]);
  expectCompleteFiles(run.dataDir);
}, 90_000);

itAsRoot('a stop its bound cuts short says what it had not done, exits non-zero, and the capture processes still complete their files', 'capture on lo', async () => {
  const run = await flowbridgeUnderLoad('0.001');
  const captures = captureProcesses(run.fb.pid!);
  expect(captures).toHaveLength(1);
  try {
    run.fb.kill('SIGTERM');
    await waitFor(run.exited, 'flowbridge to exit at its bound', 5_000, 20);
    // Left alone, a capture process completes its files and ends.
    await waitFor(() => captures.every(gone), 'the capture process to end after flowbridge', 10_000);
  } finally {
    run.unload();
  }
  expect(run.exited()).toEqual({ code: 1, signal: null });
  expect(run.output()).toMatch(/flowbridge: not stopped within 0\.001 s \(--stop-timeout\); exiting without: .*on-demand captures/);
  // The on-demand capture's pieces stay where it ran (moved in at the next start), complete.
  expectCompleteFiles(run.dataDir);
}, 90_000);
