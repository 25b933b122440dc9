// Issue 10: `npm start` (src/main.ts) runs the agent beside the collector when the host
// allows it and says so; the lo flows then show this host's processes. --no-agent turns
// it off, and a user who may not run eBPF is told what is missing.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { TSX_LOADER } from '../../src/runtime/ts-worker.ts';
import type { FlowRecord } from '../../src/model/flow.ts';
import { itAsRoot } from '../support/privileges.ts';
import { waitFor } from '../support/wait.ts';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

function start(args: string[], asNobody = false): { child: ChildProcess; output: () => string } {
  const dataDir = mkdtempSync(join(tmpdir(), 'fb-agent-start-'));
  chmodSync(dataDir, 0o777);
  const argv = [process.execPath, '--import', TSX_LOADER, MAIN, ...args, '--data-dir', dataDir];
  const child = asNobody
    ? spawn('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', ...argv], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return { child, output: () => out };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}

itAsRoot('runs the agent beside the collector: lo flows carry this host\'s processes', 'run bpftrace and capture on lo', async () => {
  const server = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(18722, '127.0.0.1', r));
  const fb = start(['-i', 'tcp://*:18720c', '-i', 'lo', '--bpf', 'lo=tcp port 18722', '--http', '127.0.0.1:18721']);
  try {
    await waitFor(() => fb.output().includes('agent: running beside the collector, sending this host\'s connections to tcp://127.0.0.1:18720c'), `the agent to run (output so far: ${fb.output()})`, 20_000);
    await waitFor(() => /bpftrace \(pid \d+\) running/.test(fb.output()), 'bpftrace attached', 20_000);
    // Connections from this process until one shows up in lo with this process and its packets.
    const flow = await waitFor(async () => {
      await fetch('http://127.0.0.1:18722/').then((r) => r.text());
      const r = await fetch('http://127.0.0.1:18721/api/v1/interfaces/lo/flows?port=18722');
      const { flows } = (await r.json()) as { flows: FlowRecord[] };
      return flows.find((f) => f.process?.pid === process.pid && f.seenBy.length === 2);
    }, 'a lo flow with this test\'s process', 20_000, 200);
    expect(flow.process).toMatchObject({ pid: process.pid, user: 'root' });
  } finally {
    await stop(fb.child);
    server.close();
  }
  expect(fb.output()).toContain('flowbridge: SIGTERM, stopping');
}, 60_000);

itAsRoot('--no-agent: no agent, and the start says nothing of one', 'compare with the agent run as root', async () => {
  const fb = start(['-i', 'tcp://127.0.0.1:18723c', '--http', '127.0.0.1:18724', '--no-agent']);
  try {
    await waitFor(() => fb.output().includes('web pages http://127.0.0.1:18724/'), `the collector to serve (output so far: ${fb.output()})`, 20_000);
    await waitFor(async () => (await fetch('http://127.0.0.1:18724/api/v1/status')).ok, 'the API');
  } finally {
    await stop(fb.child);
  }
  expect(fb.output()).not.toMatch(/agent:/);
}, 40_000);

itAsRoot('says why the agent does not run for a user without eBPF privileges', 'switch to user nobody with setpriv', async () => {
  const fb = start(['-i', 'tcp://127.0.0.1:18725c', '--http', '127.0.0.1:18726'], true);
  try {
    await waitFor(() => fb.output().includes('agent: not started: missing root or the capabilities CAP_BPF and CAP_PERFMON'), `the reason (output so far: ${fb.output()})`, 20_000);
  } finally {
    await stop(fb.child);
  }
}, 40_000);
