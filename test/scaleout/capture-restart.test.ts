// A capture node restarted on its machine (same data directory) must recognise a message it
// already took before the restart: JetStream delivers again what it did not see acknowledged
// (an acknowledgement lost with the server that carried it), and the stream may hold a
// copy twice. Such a message is counted as redelivered: neither merged twice nor, because it
// is old by now, counted late. Envelopes are published here as an ingest node would, to a
// real nats-server; the capture node captures lo with a filter that matches nothing.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { normaliseSocketEvent } from '../../src/collector/events/normalise.ts';
import { encodeEnvelope, type EventEnvelope } from '../../src/scaleout/event-envelope.ts';
import type { ScaleOutStats } from '../../src/scaleout/scaleout.ts';
import { fixture } from '../support/fixtures.ts';
import { freshDataDir, startWithFlags } from '../support/flowbridge.ts';
import { natsServerInstalled, startNatsCluster, type NatsCluster } from '../support/nats.ts';
import { describeAsRoot } from '../support/privileges.ts';
import { waitFor } from '../support/wait.ts';

type Fb = Awaited<ReturnType<typeof startWithFlags>>;
const GRACE_S = 5;

describeAsRoot('a restarted capture node and messages it already took', 'capture on lo', () => {
  let cluster: NatsCluster;
  let nc: NatsConnection;
  let capture: Fb | undefined;
  const dataDir = freshDataDir();
  let copies = 0;

  const consumer = () => (capture!.telemetry.scaleout!() as ScaleOutStats).consumers![0];
  const startCapture = async () => {
    capture = await startWithFlags(['-i', 'lo', '--bpf', 'lo=udp port 9 and udp port 10', '--nats', cluster.urls, '--nats-replicas', '1', '--role', 'capture', '--node-name', 'capr', '--grace', String(GRACE_S)], dataDir);
    await waitFor(() => consumer().running, 'the capture node consuming', 30_000);
  };
  const envelope = (id: string, port: number, receivedAt: number): EventEnvelope => ({
    id, via: 'ingr/tcp://127.0.0.1:1c', receivedAt, route: 'name',
    events: [normaliseSocketEvent({ ...fixture('nprobe-mini-connect'), IF_NAME: 'lo', IPV4_LOCAL_ADDR: '10.9.1.1', IPV4_REMOTE_ADDR: '10.9.1.2', L4_LOCAL_PORT: port, L4_REMOTE_PORT: 443 })],
  });
  /** Each publish is a new stream message (its own Nats-Msg-Id), as a redelivery or a stored copy is. */
  const publish = (e: EventEnvelope) => jetstream(nc).publish('flowbridge.events.lo', encodeEnvelope(e), { msgID: `copy-${++copies}` });
  const taken = () => { const c = consumer(); return c.merged + c.skipped.late + c.skipped.redelivered; };

  beforeAll(async () => {
    if (!natsServerInstalled) throw new Error('nats-server is not installed (scripts/bootstrap.mjs --test installs it)');
    cluster = await startNatsCluster(1);
    nc = await connect({ servers: cluster.urls.split(',') });
    await startCapture();
  }, 60_000);
  afterAll(async () => {
    await capture?.stop();
    await nc?.close();
    await cluster?.stop();
  });

  it('counts a message taken before the restart as redelivered, whether it was merged or late', async () => {
    const merged = envelope('ingr.1.1', 40101, Date.now());
    const late = envelope('ingr.1.2', 40102, Date.now() - (GRACE_S + 60) * 1000);
    await publish(merged);
    await publish(late);
    await publish(merged);
    await waitFor(() => taken() === 3, 'three messages taken', 30_000);
    expect(consumer()).toMatchObject({ merged: 1, skipped: { late: 1, redelivered: 1 } });
    await capture!.stop();

    await startCapture();
    // Both again after the restart (old by now), and a new one.
    await publish(merged);
    await publish(late);
    await publish(envelope('ingr.1.3', 40103, Date.now()));
    await waitFor(() => taken() === 3, 'three messages taken after the restart', 30_000);
    expect(consumer()).toMatchObject({ merged: 1, skipped: { late: 0, redelivered: 2 }, takenIds: { size: 3, bound: 100_000 } });
    const lo = capture!.registry.resolve('lo')!;
    expect(lo.flows.query({ port: 40103 }).total).toBe(1);
    expect(lo.flows.query({ port: 40101 }).total).toBe(0);
  }, 90_000);

  it('moves an unreadable file of ids aside (never overwritten unread) and goes on taking messages', async () => {
    await capture!.stop();
    const file = join(dataDir, 'nats-taken-lo.json');
    writeFileSync(file, '["ingr.1.1", ');
    await startCapture();
    expect(readdirSync(dataDir).filter((n) => n.startsWith('nats-taken-lo.json.corrupt-'))).toHaveLength(1);
    expect(existsSync(file)).toBe(false);
    await publish(envelope('ingr.1.4', 40104, Date.now()));
    await waitFor(() => consumer().merged === 1, 'a new message merged', 30_000);
    expect(consumer().takenIds.size).toBe(1);
  }, 60_000);
});
