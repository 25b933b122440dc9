// The soak's collector: flowbridge as an operator runs it (`node --import tsx src/main.ts`
// with flags, in a process of its own, so that its resident memory is its own), its
// API reached with the token, and its process tree read from /proc: resident memory of
// the collector and of each child (the capture processes), and which children it has.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TSX_LOADER } from '../src/runtime/ts-worker.ts';
import { onCleanup } from './children.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const HEAP_PROBE = fileURLToPath(new URL('./soak-heap-probe.ts', import.meta.url));
/** How long a full collection and its report may take. */
const HEAP_PROBE_TIMEOUT_MS = 10_000;
/** How long the collector may take to serve its pages (tsx compiles the sources first). */
const START_TIMEOUT_MS = 60_000;
/** How long SIGTERM may take before SIGKILL. */
const STOP_TIMEOUT_MS = 20_000;
/** Output kept to explain a failure: the last lines only. */
const KEPT_OUTPUT_CHARS = 8_000;

export interface SoakCollector {
  pid: number;
  /** http://127.0.0.1:PORT */
  url: string;
  token: string;
  /** A request with the token. */
  api(path: string, init?: RequestInit): Promise<Response>;
  /** The main thread's live heap after a full garbage collection (soak-heap-probe.ts); undefined when it did not answer. */
  liveHeap(): Promise<number | undefined>;
  /** Set once the process has exited (a crash during the soak). */
  exited(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** The end of what it printed. */
  output(): string;
  /** SIGTERM, then SIGKILL past the bound; resolves with how it ended. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null; seconds: number }>;
}

/** The soak's collector: a collector-mode ZMQ interface on `endpoint` (tcp://127.0.0.1:PORT) and lo, capturing what `bpf` selects. */
export function collectorFlags(endpoint: string, bpf: string, dataDir: string): string[] {
  return ['-i', `${endpoint}c`, '-i', 'lo', '--bpf', `lo=${bpf}`, '--data-dir', dataDir, '--max-flows', '50000'];
}

/** Starts the collector with `args` (plus --http on a free port, the token, --no-agent). */
export async function startCollector(args: string[], token: string): Promise<SoakCollector> {
  const probeDir = mkdtempSync(join(tmpdir(), 'fb-soak-heap-'));
  const heapFile = join(probeDir, 'live-heap');
  const child: ChildProcess = spawn(process.execPath, ['--max-semi-space-size=64', '--expose-gc', '--import', TSX_LOADER, '--import', HEAP_PROBE, MAIN,
    '--http', '127.0.0.1:0', '--api-token', token, '--protect-reads', '--no-agent', ...args],
  { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FLOWBRIDGE_SOAK_HEAP_FILE: heapFile } });
  const heapReadings = () => (existsSync(heapFile) ? readFileSync(heapFile, 'utf8').split('\n').filter(Boolean).map(Number) : []);
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-KEPT_OUTPUT_CHARS);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let ended: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exit = new Promise<void>((resolve) => child.once('exit', (code, signal) => {
    ended = { code, signal };
    resolve();
  }));
  const unregister = onCleanup(() => {
    if (!ended) child.kill('SIGKILL');
    rmSync(probeDir, { recursive: true, force: true });
  });

  const deadline = Date.now() + START_TIMEOUT_MS;
  let url: string | undefined;
  while (!url) {
    if (ended) throw new Error(`flowbridge exited while starting (${ended.code ?? ended.signal}): ${out.trim()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`flowbridge did not serve within ${START_TIMEOUT_MS / 1000} s: ${out.trim()}`);
    }
    url = /web pages (http:\/\/127\.0\.0\.1:\d+)\//.exec(out)?.[1];
    await new Promise((r) => setTimeout(r, 100));
  }
  const base = url;
  return {
    pid: child.pid!,
    url: base,
    token,
    api: (path, init = {}) => fetch(`${base}${path}`, {
      ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string> | undefined) }, signal: init.signal ?? AbortSignal.timeout(15_000),
    }),
    async liveHeap() {
      const before = heapReadings().length;
      if (ended || !child.kill('SIGUSR2')) return undefined;
      const deadline = Date.now() + HEAP_PROBE_TIMEOUT_MS;
      while (Date.now() < deadline && !ended) {
        const readings = heapReadings();
        if (readings.length > before) return readings.at(-1)! >= 0 ? readings.at(-1) : undefined;
        await new Promise((r) => setTimeout(r, 20));
      }
      return undefined;
    },
    exited: () => ended,
    output: () => out,
    async stop() {
      const began = performance.now();
      if (!ended) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exit;
        clearTimeout(timer);
      }
      unregister();
      rmSync(probeDir, { recursive: true, force: true });
      return { ...ended!, seconds: Math.round((performance.now() - began) / 100) / 10 };
    },
  };
}

export interface ProcessMemory {
  pid: number;
  /** What it runs: the script's file name (capture-process.ts), else its command name. */
  name: string;
  rssBytes: number;
}

const KIB = 1024;

function rssOf(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * KIB : undefined;
  } catch {
    return undefined; // gone between the listing and the read
  }
}

function nameOf(pid: number): string {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const script = argv.find((a) => /\.(ts|js|mjs)$/.test(a) && !a.includes('loader'));
    return (script ?? argv[0] ?? '?').split('/').pop()!;
  } catch {
    return '?';
  }
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const list = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (list) out.push(...list.split(/\s+/).map(Number));
    }
  } catch {
    // The process ended.
  }
  return out;
}

/** The collector and every descendant, with their resident memory (the collector first). */
export function processTree(pid: number): ProcessMemory[] {
  const out: ProcessMemory[] = [];
  const walk = (p: number) => {
    const rss = rssOf(p);
    if (rss === undefined) return;
    out.push({ pid: p, name: p === pid ? 'flowbridge' : nameOf(p), rssBytes: rss });
    for (const c of childrenOf(p)) walk(c);
  };
  walk(pid);
  return out;
}
