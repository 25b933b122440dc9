// --eve-socket: Suricata's unix_stream EVE output, here two writers at once on a real
// unix socket, each line whole however the writes interleave.
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Alerts } from '../../src/alerts/alerts.ts';
import { waitFor } from '../support/wait.ts';
import { eveAlert, lines } from './support.ts';

const open: Alerts[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((a) => a.stop()));
});

async function listen(eveSocket: string): Promise<Alerts> {
  const alerts = new Alerts({ dataDir: mkdtempSync(join(tmpdir(), 'fb-eve-')), eveSocket, interfaces: () => [], waitMs: 50 });
  open.push(alerts);
  await alerts.start();
  return alerts;
}

const client = (path: string) => new Promise<Socket>((resolve, reject) => {
  const s = connect(path, () => resolve(s));
  s.once('error', reject);
});
const write = (s: Socket, text: string) => new Promise<void>((resolve) => s.write(text, () => resolve()));
const sig = (n: number) => eveAlert({ alert: { signature_id: n } });

describe('--eve-socket', () => {
  it('takes records from two clients writing at once, each line whole', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'fb-sock-')), 'eve.sock');
    const alerts = await listen(path);
    const a = await client(path);
    const b = await client(path);
    await waitFor(() => alerts.stats().socket?.clients.size === 2, 'two clients');
    const la = JSON.stringify(sig(1));
    const lb = JSON.stringify(sig(2));
    // Interleaved halves: a line is only taken once its own writer ends it.
    await write(a, la.slice(0, 30));
    await write(b, lb.slice(0, 50));
    await write(a, `${la.slice(30)}\n`);
    await write(b, `${lb.slice(50)}\n${JSON.stringify({ event_type: 'dns' })}\nnot json\n`);
    await write(a, lines(sig(3)));
    await waitFor(() => alerts.stats().bySource['eve-socket'] === 3, 'three alerts');

    const got = alerts.store.list().alerts.map((x) => x.record.alert?.signature_id).sort();
    expect(got).toEqual([1, 2, 3]);
    await waitFor(() => alerts.stats().rejected['bad-json'] === 1, 'the bad line counted');
    const s = alerts.stats();
    expect(s.skippedByEventType).toEqual({ dns: 1 });
    expect(s.samples[0]).toMatchObject({ source: 'eve-socket', reason: 'bad-json', excerpt: 'not json' });
    expect(s.socket).toMatchObject({ state: 'listening', connections: 2, lines: 5 });
    expect(alerts.store.list().alerts.every((x) => x.source === 'eve-socket')).toBe(true);

    // A client going away leaves the other and the socket working.
    a.destroy();
    await waitFor(() => alerts.stats().socket?.clients.size === 1, 'one client left');
    await write(b, lines(sig(4)));
    await waitFor(() => alerts.stats().bySource['eve-socket'] === 4, 'the fourth alert');
    b.destroy();
  });

  it('replaces a socket file left by a previous run, and refuses a path that is not a socket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fb-sock-'));
    const path = join(dir, 'eve.sock');
    // A socket file nobody listens on (what a killed writer leaves): bound, never removed.
    execFileSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', path]);
    expect(lstatSync(path).isSocket()).toBe(true);
    const alerts = await listen(path);
    expect(alerts.problems).toEqual([]);
    const c = await client(path);
    await write(c, lines(sig(1)));
    await waitFor(() => alerts.stats().bySource['eve-socket'] === 1, 'an alert');
    c.destroy();

    const file = join(dir, 'regular');
    writeFileSync(file, 'keep me');
    const refused = await listen(file);
    expect(refused.problems[0]).toMatch(/regular exists and is not a socket: not replacing it/);
    expect(refused.stats().socket?.state).toBe('error');
  });
});
