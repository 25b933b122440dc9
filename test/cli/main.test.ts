// The command itself, as an operator runs it: bad flags are refused with what is
// accepted, --help documents the flags, and a collector that may not capture (not
// root, no CAP_NET_RAW) says why and keeps running events-only.
import { execFile, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { TSX_LOADER } from '../../src/runtime/ts-worker.ts';
import { itAsRoot } from '../support/privileges.ts';
import { waitFor } from '../support/wait.ts';

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const node = (args: string[]) => run(process.execPath, ['--import', TSX_LOADER, MAIN, ...args]);

it('refuses bad flags with exit code 2 and what is accepted', async () => {
  const err = await node(['--interfaces', 'lo']).catch((e: { code: number; stderr: string }) => e);
  expect(err).toMatchObject({ code: 2, stderr: expect.stringMatching(/flowbridge: Unknown option '--interfaces'.*Run with --help/s) });
  const help = await node(['--help']);
  expect(help.stdout).toContain('--companion <zmq>=<iface>');
});

itAsRoot('runs events-only when it may not capture, and says why', 'switch to user nobody with setpriv', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fb-nobody-'));
  chmodSync(dataDir, 0o777);
  // As user nobody: no capture privilege.
  const child = spawn('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, '--import', TSX_LOADER, MAIN,
    '-i', 'tcp://127.0.0.1:18150c', '-i', 'lo', '--http', '127.0.0.1:18151', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  try {
    await waitFor(() => out.includes('web pages http://127.0.0.1:18151/'), `the collector to serve (output so far: ${out})`, 20_000);
    // The pages serve while interfaces start: the capture's failure follows.
    await waitFor(() => /interface 1 lo is not running: cannot open capture on lo: .*(permission|Operation not permitted)/i.test(out), 'the reason lo is not running');
    type Status = { interfaces: { name: string; status: { state: string } }[]; problems: { interfaceId?: number; text: string }[] };
    // Each interface starts on its own: the ZMQ endpoint may still be opening when lo has failed.
    const status = await waitFor(async () => {
      const s = (await (await fetch('http://127.0.0.1:18151/api/v1/status')).json()) as Status;
      return s.interfaces.every((i) => i.status.state !== 'starting') ? s : undefined;
    }, 'both interfaces to have started or failed');
    expect(status.interfaces.map((i) => [i.name, i.status.state])).toEqual([['tcp://127.0.0.1:18150c', 'running'], ['lo', 'error']]);
    expect(status.problems).toContainEqual({ interfaceId: 1, text: expect.stringMatching(/interface lo: cannot open capture on lo/) });
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  expect(out).toContain('flowbridge: SIGTERM, stopping');
}, 40_000);
