// Which side wins when a node's dispatch setting and the bucket's entry disagree
// (src/scaleout/dispatch-sync.ts), key by key, against a real nats-server's key-value
// bucket: the node's own change is written over any entry, an untouched node adopts a
// newer entry (or refuses it, once, without overwriting it), and a bucket that lost or
// never had the entry gets the node's value, a recreated bucket included.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Kvm, type KV } from '@nats-io/kv';
import { DispatchSync, type OwnedSetting } from '../../src/scaleout/dispatch-sync.ts';
import { natsServerInstalled, startNatsCluster, type NatsCluster } from '../support/nats.ts';

describe.skipIf(!natsServerInstalled)('dispatch settings: the node or the bucket', () => {
  let cluster: NatsCluster;
  let nc: NatsConnection;
  let kv: KV;
  const dir = mkdtempSync(join(tmpdir(), 'fb-dispatch-sync-'));
  const bucket = () => new Kvm(nc).create('dispatch_sync_test', { history: 1 });
  const valueOf = async (key: string) => {
    const e = await kv.get(key);
    return e && e.operation === 'PUT' ? e.string() : null;
  };

  /** A node's one setting: what it holds, and what it was asked to adopt (a refusal throws, as a SettingsError would). */
  const node = (key: string, value: string | null) => {
    const s = { value, adopted: [] as (string | null)[], refuse: false };
    const owned = (): OwnedSetting[] => [{
      key, value: s.value,
      adopt: (v) => {
        if (s.refuse) throw new Error(`${v} is not marked mirrored`);
        s.adopted.push(v);
        s.value = v;
      },
    }];
    return { s, sync: (file: string) => new DispatchSync(join(dir, file), owned) };
  };

  beforeAll(async () => {
    cluster = await startNatsCluster(1);
    nc = await connect({ servers: cluster.urls.split(','), reconnect: false });
    kv = await bucket();
  }, 30_000);
  afterAll(async () => {
    await nc?.close();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes a value the bucket lacks, and the node\'s own change over a newer entry', async () => {
    const { s, sync } = node('companion.z1', 'eth1');
    const a = sync('z1.json');
    await a.attach(kv);
    expect(await valueOf('companion.z1')).toBe('eth1');
    expect(a.stats()).toMatchObject({ written: 1, adopted: 0, pending: 0 });

    // Changed here while the bucket was out of reach; another node wrote meanwhile.
    a.detach();
    s.value = 'eth2';
    expect(a.stats().pending).toBe(1);
    await kv.put('companion.z1', 'eth9');
    // A restart: the revisions come back from the file.
    const b = sync('z1.json');
    await b.attach(kv);
    expect(await valueOf('companion.z1')).toBe('eth2');
    expect(b.stats()).toMatchObject({ written: 1, adopted: 0, pending: 0 });
    expect(s.adopted).toEqual([]);
    expect(JSON.parse(readFileSync(join(dir, 'z1.json'), 'utf8'))['companion.z1'].value).toBe('eth2');
  });

  it('adopts a newer entry when the node changed nothing, and deletes when the node has none', async () => {
    const { s, sync } = node('companion.z2', null);
    const a = sync('z2.json');
    await a.attach(kv);
    expect(a.stats().written).toBe(0);
    await kv.put('companion.z2', 'eth3');
    await a.sync();
    expect(s.adopted).toEqual(['eth3']);
    expect(a.stats()).toMatchObject({ written: 0, adopted: 1, pending: 0 });

    s.value = null;
    await a.sync();
    expect(await valueOf('companion.z2')).toBe(null);
    expect((await kv.get('companion.z2'))?.operation).toBe('DEL');
    expect(a.stats()).toMatchObject({ written: 1, adopted: 1, pending: 0 });
  });

  it('refuses what the node cannot apply once, leaves the entry alone, and adopts it once it can', async () => {
    const { s, sync } = node('companion.z3', null);
    const a = sync('z3.json');
    await a.attach(kv);
    s.refuse = true;
    await kv.put('companion.z3', 'eth4');
    await a.sync();
    await a.sync();
    expect(a.stats()).toMatchObject({ refused: 1, adopted: 0, written: 0 });
    expect(a.stats().lastError).toContain('eth4 is not marked mirrored');
    expect(await valueOf('companion.z3')).toBe('eth4');

    s.refuse = false;
    await a.sync();
    expect(s.adopted).toEqual(['eth4']);
    expect(a.stats()).toMatchObject({ refused: 1, adopted: 1, written: 0 });
  });

  it('writes the node\'s values into a recreated bucket (revisions start again)', async () => {
    const { sync } = node('companion.z4', 'eth5');
    const a = sync('z4.json');
    await a.attach(kv);
    await kv.put('companion.z4', 'eth6');
    await kv.put('companion.z4', 'eth5');
    await a.sync();
    expect(a.stats().written).toBe(1);

    await kv.destroy();
    kv = await bucket();
    await kv.put('companion.z4', 'eth7');   // revision 1: older than the one the node holds
    a.detach();
    await a.attach(kv);
    expect(await valueOf('companion.z4')).toBe('eth5');
    expect(a.stats()).toMatchObject({ written: 2, adopted: 0 });
  });
});
