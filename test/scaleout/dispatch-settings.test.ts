// Mirrored marks and companions changed while the nodes run (issue 16): a capture node's
// lo marked mirrored through REST and an ingest node's companion chosen through REST meet
// in the JetStream bucket, and the ingest node routes the next events by them with no
// restart; unmarking (REST) or clearing the companion (the interface page) stops them. At a start, a node's own change made while
// NATS was away wins over the bucket's older entry, and a node with no change of its own
// takes a newer entry another node wrote (src/scaleout/dispatch-sync.ts).
import { rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import type { ScaleOutStats } from '../../src/scaleout/scaleout.ts';
import { subjectToken } from '../../src/scaleout/settings.ts';
import { DISPATCH_BUCKET } from '../../src/scaleout/streams.ts';
import { fixture } from '../support/fixtures.ts';
import { connectProducer, startWithFlags } from '../support/flowbridge.ts';
import { natsServerInstalled, startNatsCluster, type NatsCluster } from '../support/nats.ts';
import { describeAsRoot } from '../support/privileges.ts';
import type { Producer } from '../support/producer.ts';
import { waitFor } from '../support/wait.ts';

const ZMQ_PORT = 18797;
const ZMQ = `tcp://127.0.0.1:${ZMQ_PORT}c`;
const COMPANION_KEY = `companion.${subjectToken(ZMQ)}`;
type Fb = Awaited<ReturnType<typeof startWithFlags>>;

describeAsRoot('mirrored marks and companions changed at run time, through the dispatch bucket', 'capture on lo', () => {
  let cluster: NatsCluster;
  let capture: Fb;
  let ingest: Fb | undefined;
  let producer: Producer | undefined;
  const ingestDir = mkdtempSync(join(tmpdir(), 'fb-ingest-'));
  const stats = (fb: Fb): ScaleOutStats => fb.telemetry.scaleout!();
  const ing = () => stats(ingest!).ingest!;
  const merged = () => stats(capture).consumers![0].merged;
  const lo = () => capture.registry.resolve('lo')!;
  const home = () => ingest!.registry.zmqInterfaces()[0];
  const event = (port: number) => ({ ...fixture('nprobe-mini-connect'), IF_NAME: 'eth7', IPV4_LOCAL_ADDR: '10.9.1.1', IPV4_REMOTE_ADDR: '10.9.1.2', L4_LOCAL_PORT: port, L4_REMOTE_PORT: 443 });
  const patch = (fb: Fb, ref: string, body: unknown) => fb.api(`/api/v1/interfaces/${encodeURIComponent(ref)}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const companionNow = async () => ((await (await ingest!.api('/api/v1/interfaces/0')).json()) as { companion: string | null }).companion;
  /** The ingest node's events that named no captured device and went nowhere: sent, then seen counted. */
  const sendUnrouted = async (port: number, before: number) => {
    await producer!.send('flow', event(port));
    await waitFor(() => ing().notPublished['no-capture-node'] === before + 1, `event ${port} routed to no capture node`, 30_000);
    await waitFor(() => home().flows.query({ port }).total === 1, `event ${port} at home`);
  };
  const sendToCompanion = async (port: number, before: number) => {
    await producer!.send('flow', event(port));
    await waitFor(() => merged() === before + 1, `event ${port} merged on the companion's capture node`, 30_000);
    expect(lo().flows.query({ port }).flows[0].recentEvents).toHaveLength(1);
  };
  const startIngest = async () => {
    ingest = await startWithFlags(['-i', ZMQ, '--nats', cluster.urls, '--role', 'ingest', '--node-name', 'ingd'], ingestDir);
    producer = await connectProducer(ingest, `tcp://127.0.0.1:${ZMQ_PORT}`);
  };
  const stopIngest = async () => {
    producer?.close();
    producer = undefined;
    await ingest?.stop();
    ingest = undefined;
  };
  const bucketEntry = async () => {
    const nc = await connect({ servers: cluster.urls.split(','), reconnect: false });
    try {
      const e = await (await new Kvm(nc).open(DISPATCH_BUCKET)).get(COMPANION_KEY);
      return e && { operation: e.operation, value: e.operation === 'PUT' ? e.string() : null, revision: e.revision };
    } finally {
      await nc.close();
    }
  };

  beforeAll(async () => {
    if (!natsServerInstalled) throw new Error('nats-server is not installed (scripts/bootstrap.mjs --test installs it)');
    cluster = await startNatsCluster(1);
    capture = await startWithFlags(['-i', 'lo', '--bpf', 'lo=udp port 9 and udp port 10', '--nats', cluster.urls, '--role', 'capture', '--node-name', 'capd']);
    await startIngest();
    await waitFor(() => ing().targets.includes('lo'), 'the capture node announced lo', 30_000);
  }, 60_000);
  afterAll(async () => {
    await stopIngest();
    await capture?.stop();
    await cluster?.stop();
    rmSync(ingestDir, { recursive: true, force: true });
  });

  it('routes the next events by marks and companions changed through REST and the page, and stops when they are taken back', async () => {
    // No capture node marks lo yet: refused, naming what is accepted.
    const refused = await patch(ingest!, '0', { companion: 'lo' });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: string }).error).toContain('mirrored interfaces: none');

    expect((await patch(capture, 'lo', { mirrored: true })).status).toBe(200);
    await waitFor(() => ing().mirrored.includes('lo'), 'the mark reached the ingest node', 30_000);
    // The interface page offers the other node's device as a companion.
    expect(await (await ingest!.api('/interfaces/0')).text()).toContain('<option value="lo"');
    const chosen = await patch(ingest!, '0', { companion: 'lo' });
    expect(chosen.status).toBe(200);
    expect(((await chosen.json()) as { companion: string }).companion).toBe('lo');
    await waitFor(() => ing().companions[subjectToken(ZMQ)] === 'lo', 'the companion in the bucket', 30_000);
    await sendToCompanion(41001, 0);

    // Unmarked on the capture node: the ingest node stops sending there (its choice stays).
    expect((await patch(capture, 'lo', { mirrored: false })).status).toBe(200);
    await waitFor(() => !ing().mirrored.includes('lo') && Object.keys(ing().companions).length === 0, 'the mark gone on the ingest node', 30_000);
    await sendUnrouted(41002, 0);
    expect(await companionNow()).toBe('lo');

    // Marked again: the kept companion is active again.
    expect((await patch(capture, 'lo', { mirrored: true })).status).toBe(200);
    await waitFor(() => ing().companions[subjectToken(ZMQ)] === 'lo', 'the mark back on the ingest node', 30_000);
    await sendToCompanion(41003, 1);

    // The companion cleared on the ingest node's interface page: no more events there.
    const form = await ingest!.api('/interfaces/0/settings', {
      method: 'POST', redirect: 'manual', headers: { origin: ingest!.url, 'content-type': 'application/x-www-form-urlencoded' }, body: 'setting=companion&companion=',
    });
    expect(form.status).toBe(303);
    expect(await companionNow()).toBe(null);
    await waitFor(() => Object.keys(ing().companions).length === 0, 'the companion gone from the bucket', 30_000);
    await sendUnrouted(41004, 1);

    expect(merged()).toBe(2);
    expect(lo().flows.query({ port: 41002 }).total).toBe(0);
    expect(lo().flows.query({ port: 41004 }).total).toBe(0);
    expect((await bucketEntry())?.operation).toBe('DEL');
    expect(stats(capture).dispatchSettings).toMatchObject({ written: 3, adopted: 0, refused: 0, pending: 0 });
    expect(stats(ingest!).dispatchSettings).toMatchObject({ written: 2, adopted: 0, refused: 0, pending: 0 });
    const metrics = await (await ingest!.api('/metrics')).text();
    expect(metrics).toContain('flowbridge_nats_ingest_events_total{route="companion"} 2');
    expect(metrics).toContain('flowbridge_nats_ingest_not_published_total{reason="no-capture-node"} 2');
    expect(metrics).toContain('flowbridge_nats_dispatch_settings_total{action="written"} 2');
  }, 120_000);

  it('at a start, takes a newer entry another node wrote, and keeps its own change made while NATS was away', async () => {
    // Stopped with no companion; meanwhile another ingest node with this ZMQ interface's name chooses lo.
    await stopIngest();
    const nc = await connect({ servers: cluster.urls.split(','), reconnect: false });
    await (await new Kvm(nc).open(DISPATCH_BUCKET)).put(COMPANION_KEY, 'lo');
    await nc.close();
    await startIngest();
    await waitFor(async () => (await companionNow()) === 'lo', 'the newer entry adopted', 30_000);
    await waitFor(() => ing().companions[subjectToken(ZMQ)] === 'lo', 'routing by it', 30_000);
    expect(stats(ingest!).dispatchSettings).toMatchObject({ written: 0, adopted: 1 });
    await sendToCompanion(42001, 2);

    // NATS away: the companion cleared here waits, and survives a restart of the node.
    await cluster.kill(0);
    await waitFor(() => stats(ingest!).connection.state !== 'connected', 'the ingest node disconnected', 30_000);
    expect((await patch(ingest!, '0', { companion: null })).status).toBe(200);
    await waitFor(() => stats(ingest!).dispatchSettings!.pending === 1, 'the change pending');
    await stopIngest();
    await cluster.restart(0);
    await cluster.jetStreamReady();
    expect(await bucketEntry()).toMatchObject({ operation: 'PUT', value: 'lo' });

    // The bucket still says lo (a stale entry): this node's own change wins.
    await startIngest();
    await waitFor(async () => (await bucketEntry())?.operation === 'DEL', 'the own change written over the stale entry', 30_000);
    expect(await companionNow()).toBe(null);
    expect(stats(ingest!).dispatchSettings).toMatchObject({ written: 1, adopted: 0, pending: 0 });
    await waitFor(() => ing().targets.includes('lo') && Object.keys(ing().companions).length === 0, 'routing without the companion', 30_000);
    await sendUnrouted(42002, 0);
    expect(lo().flows.query({ port: 42002 }).total).toBe(0);
  }, 180_000);
});
