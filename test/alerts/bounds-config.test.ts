// The alert store and the waiting queue are bounded and say so; --eve-file and
// --eve-socket reach the configuration (flags and file) as absolute paths.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Alerts } from '../../src/alerts/alerts.ts';
import { parseEveRecord } from '../../src/alerts/eve.ts';
import { parseCli } from '../../src/cli.ts';
import { ConfigError, readConfigFile, resolveConfig } from '../../src/config.ts';
import { eveAlert } from './support.ts';

const parsed = (sig: number, port = 80) => {
  const p = parseEveRecord(eveAlert({ dest_port: port, alert: { signature_id: sig } }));
  if (p.kind !== 'alert') throw new Error('not an alert');
  return p;
};

describe('bounds', () => {
  it('evicts the oldest alert past the store bound and counts it; the newest stay findable', async () => {
    const alerts = new Alerts({ dataDir: mkdtempSync(join(tmpdir(), 'fb-eve-')), interfaces: () => [], storeBound: 3, waitMs: 10_000 });
    const stored = alerts.accept([1, 2, 3, 4, 5].map((n) => parsed(n)), 'api');
    expect(alerts.store.list().alerts.map((a) => a.record.alert?.signature_id)).toEqual([5, 4, 3]);
    expect(alerts.store.get(stored[0].id)).toBeUndefined();
    expect(alerts.stats().store).toEqual({ size: 3, max: 3, dropped: 2 });
    await alerts.stop();
  });

  it('gives up the oldest waiting alert when the queue is full, as unmatched with the reason', async () => {
    const alerts = new Alerts({ dataDir: mkdtempSync(join(tmpdir(), 'fb-eve-')), interfaces: () => [], maxPending: 2, waitMs: 10_000 });
    const [first] = alerts.accept([1, 2, 3].map((n) => parsed(n)), 'api');
    expect(first).toMatchObject({ status: 'unmatched', unmatchedReason: 'pending-queue-full' });
    const s = alerts.stats();
    expect(s.pending).toEqual({ size: 2, max: 2, dropped: 1 });
    expect(s.unmatched).toEqual({ 'pending-queue-full': 1 });
    await alerts.stop();
  });
});

describe('configuration', () => {
  it('takes --eve-file and --eve-socket as absolute paths, from flags or the config file', () => {
    const config = resolveConfig({}, parseCli(['--eve-file', 'rel/eve.json', '--eve-socket', '/run/suricata/eve.sock'], {}).flags);
    expect(config.eveFile).toBe(resolve('rel/eve.json'));
    expect(config.eveSocket).toBe('/run/suricata/eve.sock');
    const file = join(mkdtempSync(join(tmpdir(), 'fb-cfg-')), 'config.json');
    writeFileSync(file, JSON.stringify({ eveFile: '/var/log/suricata/eve.json' }));
    expect(resolveConfig(readConfigFile(file), {}).eveFile).toBe('/var/log/suricata/eve.json');
    expect(resolveConfig({}, {}).eveFile).toBeUndefined();
    expect(() => resolveConfig({}, parseCli(['--eve-file', '/tmp/x', '--eve-socket', '/tmp/x'], {}).flags)).toThrow(ConfigError);
    expect(() => parseCli(['--eve-file', ''], {})).toThrow(/--eve-file needs a path/);
  });
});
