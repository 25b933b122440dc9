// Split roles through a real three-node JetStream cluster (issue 16): two ingest nodes
// receive ZMQ events from their producers and publish them by target; one capture node
// captures a veth pair into a namespace this test creates and merges the events of its
// device from a durable consumer. A known sequence of events is sent; every one is merged
// exactly once (counted end to end) while a NATS server is killed and restarted mid-run,
// and while the capture node is restarted (events sent while it is down are merged when it
// is back); events older than the grace period when they arrive are counted late, not
// merged. The flow stream then holds every closed flow exactly once, final, with its process.
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { decodeRecord, type FlowExportRecord } from '../../src/scaleout/export-record.ts';
import type { ScaleOutStats } from '../../src/scaleout/scaleout.ts';
import { fixture } from '../support/fixtures.ts';
import { connectProducer, freshDataDir, startWithFlags } from '../support/flowbridge.ts';
import { natsServerInstalled, readStream, startNatsCluster, streamLeader, type NatsCluster } from '../support/nats.ts';
import { createVethPair, type VethPair } from '../support/netns.ts';
import { describeAsRoot } from '../support/privileges.ts';
import type { Producer } from '../support/producer.ts';
import { waitFor } from '../support/wait.ts';

const ZMQ_PORTS = [18780, 18781];
const SERVER_PORT = 18790;
/** Server port of the event-only flows: nothing listens or sends there. */
const QUIET_PORT = 18791;
const SUBNET = '10.213.193';
const GRACE_S = 20;
const FLOWS_PER_BATCH = 100;
const REAL_PORTS = [41001, 41002, 41003];
const LATE_EVENTS = 20;

type Fb = Awaited<ReturnType<typeof startWithFlags>>;

describeAsRoot('split roles: ingest nodes → JetStream → a capture node', 'create a network namespace and capture on its veth', () => {
  let cluster: NatsCluster;
  let veth: VethPair;
  let server: Server;
  const ingest: Fb[] = [];
  const producers: Producer[] = [];
  let capture: Fb | undefined;
  /** Events merged by each capture instance, as it stopped. */
  const mergedByInstance: number[] = [];
  const lateByInstance: number[] = [];
  /** The capture node restarts on its machine: the same data directory each time. */
  const captureDataDir = freshDataDir();

  const stats = (fb: Fb): ScaleOutStats => fb.telemetry.scaleout!();
  const startCapture = async () => {
    capture = await startWithFlags([
      '-i', veth.hostIf, '--bpf', `${veth.hostIf}=tcp port ${SERVER_PORT}`,
      '--nats', cluster.urls, '--role', 'capture', '--node-name', 'cap1', '--grace', String(GRACE_S), '--export-interval', '1', '--export-format', 'json',
    ], captureDataDir);
    await waitFor(() => capture!.registry.resolve(veth.hostIf)?.status().state === 'running', 'the veth captured');
    await waitFor(() => stats(capture!).consumers?.[0].running, 'the capture node consuming', 30_000);
  };
  const stopCapture = async () => {
    await capture!.stop();
    const c = stats(capture!).consumers![0];
    mergedByInstance.push(c.merged);
    lateByInstance.push(c.skipped.late);
    capture = undefined;
  };
  /** What the nodes say, for a failure's message. */
  const diag = () => JSON.stringify({ consumers: capture && stats(capture).consumers, ingest: ingest.map((fb) => ({ ...stats(fb).ingest, outbox: stats(fb).outbox, connection: stats(fb).connection })) });
  const merged = () => mergedByInstance.reduce((a, b) => a + b, 0) + (capture ? stats(capture).consumers![0].merged : 0);

  /** An event of flow `i` of a batch through ingest node i % 2, with its process. */
  const send = (batch: number, i: number, type: 'CONNECT' | 'CLOSE') =>
    producers[i % 2].send('flow', {
      ...fixture('nprobe-mini-connect'), TCP_EVENT_TYPE: type, IF_NAME: veth.hostIf,
      IPV4_LOCAL_ADDR: veth.nsIp, IPV4_REMOTE_ADDR: veth.hostIp, L4_LOCAL_PORT: 20_000 + batch * 1_000 + i, L4_REMOTE_PORT: QUIET_PORT,
      LOCAL_PROCESS: { PID: 100_000 + batch * 1_000 + i, UID: 1000, UID_NAME: 'fay', PROCESS_PATH: `/usr/bin/batch${batch}` },
    });
  const published = () => ingest.reduce((n, fb) => n + stats(fb).ingest!.published.name, 0);
  const allPublished = (n: number) => waitFor(() => published() === n && ingest.every((fb) => stats(fb).outbox.size === 0), `${n} events published by the ingest nodes`, 60_000);

  beforeAll(async () => {
    if (!natsServerInstalled) throw new Error('nats-server is not installed (scripts/bootstrap.mjs --test installs it)');
    cluster = await startNatsCluster(3);
    veth = createVethPair(`s${process.pid % 1000}`, SUBNET, { prefix: 'fbso' });
    server = createServer((s) => { s.on('data', () => {}); s.on('end', () => s.end(Buffer.alloc(3_000, 0x61))); });
    await new Promise<void>((r) => server.listen(SERVER_PORT, veth.hostIp, r));
    for (const [i, port] of ZMQ_PORTS.entries()) {
      const fb = await startWithFlags(['-i', `tcp://127.0.0.1:${port}c`, '--nats', cluster.urls, '--role', 'ingest', '--node-name', `ing${i + 1}`, '--grace', String(GRACE_S)]);
      ingest.push(fb);
      producers.push(await connectProducer(fb, `tcp://127.0.0.1:${port}`));
    }
    await startCapture();
    // Both ingest nodes learned from the bucket that a capture node takes the veth's events.
    await waitFor(() => ingest.every((fb) => stats(fb).ingest!.targets.includes(veth.hostIf)), 'the capture node announced to the ingest nodes', 30_000).catch((err: Error) => { throw new Error(`${err.message}: ${diag()}`); });
  }, 120_000);
  afterAll(async () => {
    for (const p of producers) p.close();
    await capture?.stop();
    for (const fb of ingest) await fb.stop();
    server?.close();
    veth?.remove();
    await cluster?.stop();
  });

  it('merges every event exactly once through a NATS server kill and a capture restart; late events are counted, not merged', async () => {
    // Batch 1: three real connections from the namespace (named first by their CONNECT events),
    // and event-only flows (CONNECT, CLOSE), with a NATS server killed and restarted half-way.
    for (const [i, port] of REAL_PORTS.entries()) {
      await producers[i % 2].send('flow', {
        ...fixture('nprobe-mini-connect'), IF_NAME: veth.hostIf, IPV4_LOCAL_ADDR: veth.nsIp, IPV4_REMOTE_ADDR: veth.hostIp, L4_LOCAL_PORT: port, L4_REMOTE_PORT: SERVER_PORT,
        LOCAL_PROCESS: { PID: 7000 + i, UID: 1000, UID_NAME: 'gus', PROCESS_PATH: `/usr/bin/real${i}` },
      });
    }
    await waitFor(() => merged() === REAL_PORTS.length, 'the real connections\' events merged', 30_000);
    for (const port of REAL_PORTS) {
      await veth.exec([process.execPath, '-e', `
        const c = require('net').connect({ host: '${veth.hostIp}', port: ${SERVER_PORT}, localAddress: '${veth.nsIp}', localPort: ${port} }, () => c.end(Buffer.alloc(1000, 98)));
        c.on('data', () => {});
      `], 15_000);
    }
    // The server leading the events stream goes a third of the way in; once the others elected a
    // new leader it comes back, two thirds in. Flows are sent a few milliseconds apart, so the ingest
    // nodes publish many messages around the kill and the restart.
    const leader = await streamLeader(cluster, 'FLOWBRIDGE_EVENTS');
    for (let i = 0; i < FLOWS_PER_BATCH; i++) {
      if (i === Math.floor(FLOWS_PER_BATCH / 3)) {
        await cluster.kill(leader);
        expect(cluster.nodes[leader].running).toBe(false);
      }
      if (i === Math.floor((2 * FLOWS_PER_BATCH) / 3)) {
        await waitFor(async () => (await streamLeader(cluster, 'FLOWBRIDGE_EVENTS').catch(() => leader)) !== leader, 'a new leader of the events stream', 30_000, 200);
        await cluster.restart(leader);
      }
      await send(1, i, 'CONNECT');
      await send(1, i, 'CLOSE');
      await new Promise((r) => setTimeout(r, 10));
    }
    const batch1 = REAL_PORTS.length + FLOWS_PER_BATCH * 2;
    await allPublished(batch1);
    await waitFor(() => merged() === batch1, 'batch 1 merged', 60_000).catch((err: Error) => { throw new Error(`${err.message}: ${merged()} of ${batch1}; ${diag()}`); });
    // Closed and past the grace period: every flow of batch 1 has its final record.
    await waitFor(() => stats(capture!).flows.finals.closed === REAL_PORTS.length + FLOWS_PER_BATCH, 'batch 1 flows ended', 60_000);

    // Batch 2 while the capture node is down: its durable consumer keeps them; the node resumes there.
    await stopCapture();
    for (let i = 0; i < FLOWS_PER_BATCH; i++) {
      await send(2, i, 'CONNECT');
      await send(2, i, 'CLOSE');
    }
    const batch2 = FLOWS_PER_BATCH * 2;
    await allPublished(batch1 + batch2);
    await startCapture();
    await waitFor(() => merged() === batch1 + batch2, 'batch 2 merged after the restart', 60_000);
    await waitFor(() => stats(capture!).flows.finals.closed === FLOWS_PER_BATCH, 'batch 2 flows ended', 60_000);

    // Batch 3 waits longer than the grace period before the capture node is back: late, not merged.
    await stopCapture();
    for (let i = 0; i < LATE_EVENTS; i++) await send(3, i, 'CONNECT');
    await allPublished(batch1 + batch2 + LATE_EVENTS);
    const sentAt = Date.now();
    await waitFor(() => Date.now() - sentAt > GRACE_S * 1000 + 500, 'the grace period over', GRACE_S * 1000 + 5_000, 250);
    await startCapture();
    await waitFor(() => stats(capture!).consumers![0].skipped.late === LATE_EVENTS, 'batch 3 counted late', 30_000);
    await waitFor(() => (stats(capture!).consumers![0].lag?.pending ?? -1) === 0, 'no lag left', 30_000);

    // End to end: every event sent was published once, merged once; none merged twice or lost.
    expect(published()).toBe(batch1 + batch2 + LATE_EVENTS);
    for (const fb of ingest) expect(stats(fb).ingest!.notPublished).toEqual({ loopback: 0, 'no-target': 0, 'no-capture-node': 0, 'buffer-full': 0 });
    expect(merged()).toBe(batch1 + batch2);
    expect(lateByInstance.reduce((a, b) => a + b, 0) + stats(capture!).consumers![0].skipped.late).toBe(LATE_EVENTS);
    expect(capture!.registry.resolve(veth.hostIf)!.flows.query({ port: QUIET_PORT }).total).toBe(0);
    const text = await (await capture!.api('/metrics')).text();
    expect(text).toContain(`flowbridge_nats_consumer_skipped_total{interface="${veth.hostIf}",reason="late"} ${LATE_EVENTS}`);
    expect(text).toContain(`flowbridge_nats_consumer_pending{interface="${veth.hostIf}"} 0`);
    expect(text).toContain('flowbridge_nats_connected{node="cap1",role="capture",state="connected"} 1');
    expect(await (await ingest[0].api('/metrics')).text()).toMatch(/flowbridge_nats_ingest_events_total\{route="name"\} [1-9]/);

    // The flow stream: every closed flow once, final, with its process; the real ones with their packets.
    const records = (await readStream(cluster.urls, 'FLOWBRIDGE_FLOWS')).map((m) => decodeRecord(m.data) as FlowExportRecord);
    const finals = records.filter((r) => r.final);
    const byClientPort = new Map<number, FlowExportRecord[]>();
    for (const r of finals) byClientPort.set(r.flow.client.port, [...(byClientPort.get(r.flow.client.port) ?? []), r]);
    expect(finals).toHaveLength(REAL_PORTS.length + FLOWS_PER_BATCH * 2);
    for (const [i, port] of REAL_PORTS.entries()) {
      const [r, ...more] = byClientPort.get(port) ?? [];
      expect(more, `port ${port}`).toHaveLength(0);
      expect(r).toMatchObject({ node: 'cap1', interface: veth.hostIf, reason: 'closed', flow: { process: { pid: 7000 + i }, server: { port: SERVER_PORT } } });
      expect(r.flow.seenBy).toEqual(expect.arrayContaining(['packets', 'events']));
      expect(r.flow.bytes).toBeGreaterThan(4_000);
      expect(r.flow.recentEvents[0].via).toBe(`ing${(i % 2) + 1}/tcp://127.0.0.1:${ZMQ_PORTS[i % 2]}c`);
    }
    for (const batch of [1, 2]) {
      for (let i = 0; i < FLOWS_PER_BATCH; i++) {
        const port = 20_000 + batch * 1_000 + i;
        const [r, ...more] = byClientPort.get(port) ?? [];
        expect(more, `port ${port}`).toHaveLength(0);
        expect(r, `port ${port}`).toMatchObject({ reason: 'closed', flow: { closed: true, process: { pid: 100_000 + batch * 1_000 + i, path: `/usr/bin/batch${batch}` } } });
      }
    }
  }, 300_000);
});
