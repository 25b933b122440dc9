// --eve-file: a real eve.json appended to, truncated, rotated, and followed across a
// restart from the position kept in the data directory; bad lines counted, never fatal.
import { appendFileSync, mkdtempSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
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

async function follow(dir: string, eveFile: string, maxLineBytes?: number): Promise<Alerts> {
  const alerts = new Alerts({ dataDir: dir, eveFile, interfaces: () => [], pollMs: 20, waitMs: 50, maxLineBytes });
  open.push(alerts);
  await alerts.start();
  return alerts;
}

/** Signature ids of the stored alerts, oldest first. */
const sids = (a: Alerts) => a.store.list({ limit: 10_000 }).alerts.map((x) => x.record.alert?.signature_id).reverse();
const sig = (n: number) => eveAlert({ alert: { signature_id: n, signature: `test ${n}` } });

describe('--eve-file', () => {
  it('takes what is appended (not the history), waits for a line to end, and counts bad lines without stopping', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fb-eve-'));
    const path = join(dir, 'eve.json');
    writeFileSync(path, lines(sig(1), sig(2)));
    const alerts = await follow(dir, path, 4096);
    await waitFor(() => alerts.stats().file?.state === 'following', 'the file to be opened');

    appendFileSync(path, lines(sig(3), { event_type: 'flow' }, { event_type: 'stats' }, { event_type: 'flow' }));
    appendFileSync(path, '{"event_type":"alert", "src_ip": \n');
    appendFileSync(path, `${JSON.stringify({ ...sig(99), payload: 'x'.repeat(10_000) })}\n`);
    appendFileSync(path, lines(eveAlert({ src_ip: 'not-an-address' })));
    const half = JSON.stringify(sig(4));
    appendFileSync(path, half.slice(0, 40));
    await waitFor(() => alerts.stats().rejected['no-5-tuple'] === 1, 'the lines so far');
    expect(sids(alerts)).toEqual([3]);
    appendFileSync(path, `${half.slice(40)}\n`);
    await waitFor(() => sids(alerts).length === 2, 'the completed line');

    expect(sids(alerts)).toEqual([3, 4]);
    const s = alerts.stats();
    expect(s.skippedByEventType).toEqual({ flow: 2, stats: 1 });
    expect(s.rejected).toEqual({ 'bad-json': 1, 'line-too-long': 1, 'no-5-tuple': 1 });
    expect(s.samples.map((x) => x.reason)).toEqual(['no-5-tuple', 'line-too-long', 'bad-json']);
    expect(s.samples[0]).toMatchObject({ source: 'eve-file', detail: expect.stringMatching(/src_ip "not-an-address"/) });
    expect(s.bySource['eve-file']).toBe(2);
    expect(s.bySignature.map((b) => b.signatureId).sort()).toEqual([3, 4]);
  });

  it('starts again from 0 when the file is truncated, and follows a rotation to the new file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fb-eve-'));
    const path = join(dir, 'eve.json');
    writeFileSync(path, '');
    const alerts = await follow(dir, path);
    await waitFor(() => alerts.stats().file?.state === 'following', 'the file to be opened');
    appendFileSync(path, lines(sig(1), sig(2), sig(3)));
    await waitFor(() => sids(alerts).length === 3, 'three alerts');

    // copytruncate: emptied in place, then written from the start.
    truncateSync(path, 0);
    await waitFor(() => alerts.stats().file?.truncations === 1, 'the truncation');
    appendFileSync(path, lines(sig(4)));
    await waitFor(() => sids(alerts).length === 4, 'the line after truncation');

    // Rotation: renamed, a last line still written to the old file, then a new file.
    renameSync(path, `${path}.1`);
    appendFileSync(`${path}.1`, lines(sig(5)));
    await waitFor(() => sids(alerts).length === 5, 'the old file\'s last line');
    writeFileSync(path, lines(sig(6), sig(7)));
    await waitFor(() => sids(alerts).length === 7, 'the new file');
    expect(sids(alerts)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(alerts.stats().file).toMatchObject({ rotations: 1, truncations: 1, state: 'following' });
  });

  it('keeps its position across a restart: lines written meanwhile are read once, none twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fb-eve-'));
    const path = join(dir, 'eve.json');
    writeFileSync(path, '');
    let alerts = await follow(dir, path);
    await waitFor(() => alerts.stats().file?.state === 'following', 'the file to be opened');
    appendFileSync(path, lines(sig(1), sig(2)));
    await waitFor(() => sids(alerts).length === 2, 'two alerts');
    await alerts.stop();

    appendFileSync(path, lines(sig(3)));
    alerts = await follow(dir, path);
    await waitFor(() => sids(alerts).length >= 1, 'the line written while down');
    appendFileSync(path, lines(sig(4)));
    await waitFor(() => sids(alerts).length >= 2, 'a new line');
    expect(sids(alerts)).toEqual([3, 4]);
    await alerts.stop();

    // Rotated while down: the new file is read from its start.
    renameSync(path, `${path}.1`);
    writeFileSync(path, lines(sig(5)));
    alerts = await follow(dir, path);
    await waitFor(() => sids(alerts).length >= 1, 'the new file');
    expect(sids(alerts)).toEqual([5]);
  });

  it('waits for a file that does not exist yet, then reads it from its start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fb-eve-'));
    const path = join(dir, 'later.json');
    const alerts = await follow(dir, path);
    await waitFor(() => alerts.stats().file?.state === 'waiting-for-file', 'waiting');
    writeFileSync(path, lines(sig(1)));
    await waitFor(() => sids(alerts).length === 1, 'the first line');
    expect(sids(alerts)).toEqual([1]);
  });
});
