// Dispatch rules across nodes (reference/dispatch.md, issue 16): a capture node marks lo
// mirrored and an ingest node names it as its ZMQ interface's companion; both meet in the
// JetStream key-value bucket. An event naming no captured interface reaches the companion,
// one naming lo by name as well reaches it once, and a loopback event never leaves the
// ingest node (another host's loopback is not this one's).
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ScaleOutStats } from '../../src/scaleout/scaleout.ts';
import { fixture } from '../support/fixtures.ts';
import { connectProducer, startWithFlags } from '../support/flowbridge.ts';
import { natsServerInstalled, startNatsCluster, type NatsCluster } from '../support/nats.ts';
import { describeAsRoot } from '../support/privileges.ts';
import type { Producer } from '../support/producer.ts';
import { waitFor } from '../support/wait.ts';

const ZMQ_PORT = 18795;
type Fb = Awaited<ReturnType<typeof startWithFlags>>;

describeAsRoot('companion across nodes through the dispatch bucket', 'capture on lo', () => {
  let cluster: NatsCluster;
  let capture: Fb;
  let ingest: Fb;
  let producer: Producer;
  const stats = (fb: Fb): ScaleOutStats => fb.telemetry.scaleout!();

  beforeAll(async () => {
    if (!natsServerInstalled) throw new Error('nats-server is not installed (scripts/bootstrap.mjs --test installs it)');
    cluster = await startNatsCluster(1);
    capture = await startWithFlags(['-i', 'lo', '--bpf', 'lo=udp port 9 and udp port 10', '--mirrored', 'lo', '--nats', cluster.urls, '--role', 'capture', '--node-name', 'capm']);
    const zmq = `tcp://127.0.0.1:${ZMQ_PORT}c`;
    ingest = await startWithFlags(['-i', zmq, '--companion', `${zmq}=lo`, '--nats', cluster.urls, '--role', 'ingest', '--node-name', 'ingm']);
    producer = await connectProducer(ingest, `tcp://127.0.0.1:${ZMQ_PORT}`);
    await waitFor(() => Object.values(stats(ingest).ingest!.companions).includes('lo'), 'the companion announced and marked mirrored', 30_000);
  }, 60_000);
  afterAll(async () => {
    producer?.close();
    await ingest?.stop();
    await capture?.stop();
    await cluster?.stop();
  });

  it('delivers to the mirrored companion, once when the name says so too, and never a loopback event', async () => {
    const event = (port: number, local: string, remote: string, ifName: string) => ({
      ...fixture('nprobe-mini-connect'), IF_NAME: ifName, IPV4_LOCAL_ADDR: local, IPV4_REMOTE_ADDR: remote, L4_LOCAL_PORT: port, L4_REMOTE_PORT: 443,
    });
    await producer.send('flow', event(40001, '10.9.0.1', '10.9.0.2', 'eth7'));   // companion only
    await producer.send('flow', event(40002, '10.9.0.1', '10.9.0.2', 'lo'));     // by name and companion: once
    await producer.send('flow', event(40003, '127.0.0.1', '127.0.0.1', 'lo'));   // loopback: stays on the ingest node
    await waitFor(() => stats(ingest).ingest!.notPublished.loopback === 1 && stats(capture).consumers![0].merged === 2, 'two events merged, the loopback one kept home', 30_000);

    expect(stats(ingest).ingest!.published).toEqual({ name: 1, companion: 1 });
    const lo = capture.registry.resolve('lo')!;
    expect(lo.flows.query({ port: 40001 }).flows[0].recentEvents).toHaveLength(1);
    expect(lo.flows.query({ port: 40002 }).flows[0].recentEvents).toHaveLength(1);
    expect(lo.flows.query({ port: 40003 }).total).toBe(0);
    // All three are accounted home on the ingest node (rule 1).
    const home = ingest.registry.zmqInterfaces()[0];
    await waitFor(() => [40001, 40002, 40003].every((p) => home.flows.query({ port: p }).total === 1), 'the three events at home');
  }, 60_000);
});
