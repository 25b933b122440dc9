// Flow export to a real three-node JetStream cluster (issue 16): merged flows of lo,
// each with the process an event named, leave as msgpack records. The cluster is down
// when flowbridge starts: it runs, captures, says it is not connected and buffers; when
// the cluster is back every closed flow is in the flow stream exactly once, final, with
// its process, each message with its id, each record as schemas/export-record.schema.json says.
import { createServer, connect as tcpConnect, type Server } from 'node:net';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Ajv } from 'ajv';
import { decodeRecord, type AlertExportRecord, type FlowExportRecord, type ProcessesExportRecord } from '../../src/scaleout/export-record.ts';
import { eveAlert } from '../alerts/support.ts';
import { fixture } from '../support/fixtures.ts';
import { connectProducer, startWithFlags } from '../support/flowbridge.ts';
import { natsServerInstalled, readStream, startNatsCluster, type NatsCluster } from '../support/nats.ts';
import { describeAsRoot } from '../support/privileges.ts';
import type { Producer } from '../support/producer.ts';
import { waitFor } from '../support/wait.ts';

const ZMQ_PORT = 18760;
const SERVER_PORT = 18761;
/** Fixed client ports: the events naming each connection are sent before it is made. */
const CLIENT_PORTS = [18771, 18772, 18773, 18774, 18775];
const schema = JSON.parse(readFileSync(new URL('../../schemas/export-record.schema.json', import.meta.url), 'utf8'));
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

describeAsRoot('flow export to NATS JetStream', 'capture on lo', () => {
  let cluster: NatsCluster;
  let fb: Awaited<ReturnType<typeof startWithFlags>>;
  let producer: Producer;
  let server: Server;

  /** /metrics as name{labels} → value. */
  const metrics = async () => new Map((await (await fb.api('/metrics')).text()).split('\n').filter((l) => l && !l.startsWith('#')).map((l) => {
    const at = l.lastIndexOf(' ');
    return [l.slice(0, at), Number(l.slice(at + 1))] as const;
  }));

  beforeAll(async () => {
    if (!natsServerInstalled) throw new Error('nats-server is not installed (scripts/bootstrap.mjs --test installs it)');
    cluster = await startNatsCluster(3);
    server = createServer((s) => { s.on('data', () => {}); s.on('end', () => s.end(Buffer.alloc(2_000, 0x61))); });
    await new Promise<void>((r) => server.listen(SERVER_PORT, '127.0.0.1', r));
  }, 60_000);
  afterAll(async () => {
    producer?.close();
    server?.close();
    await fb?.stop();
    await cluster?.stop();
  });

  it('runs and buffers while NATS is unreachable, then publishes every closed flow once, final, with its process', async () => {
    // Unreachable at start: every server down.
    for (let i = 0; i < 3; i++) await cluster.kill(i);
    fb = await startWithFlags([
      '-i', `tcp://127.0.0.1:${ZMQ_PORT}c`, '-i', 'lo', '--bpf', `lo=tcp port ${SERVER_PORT}`,
      '--nats', cluster.urls, '--node-name', 'edge1', '--grace', '1', '--export-interval', '1',
    ]);
    producer = await connectProducer(fb, `tcp://127.0.0.1:${ZMQ_PORT}`);
    await waitFor(() => fb.registry.resolve('lo')?.status().state === 'running', 'lo captured');
    expect(fb.telemetry.scaleout!().connection.state).toBe('connecting');

    // Each connection's process, named first (the event creates the flow; the packets join it).
    for (const [i, port] of CLIENT_PORTS.entries()) {
      await producer.send('flow', {
        ...fixture('nprobe-mini-connect'), IF_NAME: 'lo', IPV4_LOCAL_ADDR: '127.0.0.1', IPV4_REMOTE_ADDR: '127.0.0.1', L4_LOCAL_PORT: port, L4_REMOTE_PORT: SERVER_PORT,
        LOCAL_PROCESS: { PID: 5000 + i, UID: 1000, UID_NAME: 'erin', PROCESS_PATH: `/usr/bin/job${i}` },
      });
    }
    const lo = fb.registry.resolve('lo')!;
    await waitFor(() => CLIENT_PORTS.every((p) => lo.flows.query({ port: p }).total === 1), 'the events merged into lo');
    // An IDS alert on the first connection, joined to its flow: it is exported too.
    const posted = await fb.api('/api/v1/alerts', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(eveAlert({
      proto: 'TCP', src_ip: '127.0.0.1', src_port: CLIENT_PORTS[0], dest_ip: '127.0.0.1', dest_port: SERVER_PORT, community_id: undefined, alert: { signature_id: 9201, signature: 'exported alert' },
    })) });
    expect(posted.ok).toBe(true);
    await waitFor(() => fb.telemetry.scaleout!().alerts === 1, 'the matched alert waiting for NATS');
    for (const port of CLIENT_PORTS) {
      await new Promise<void>((resolve, reject) => {
        const c = tcpConnect({ host: '127.0.0.1', port: SERVER_PORT, localPort: port }, () => c.end(Buffer.alloc(500, 0x62)));
        c.on('data', () => {});
        c.on('error', reject);
        c.on('close', () => resolve());
      });
    }
    // Closed, past the grace period, out of the table: their final records wait in the buffer.
    await waitFor(() => fb.telemetry.scaleout!().flows.finals.closed >= CLIENT_PORTS.length, 'final records of the closed flows', 20_000);
    const buffered = fb.telemetry.scaleout!();
    expect(buffered.connection.state).toBe('connecting');
    expect(buffered.outbox.size).toBeGreaterThanOrEqual(CLIENT_PORTS.length);
    expect(buffered.outbox.published.flows).toBe(0);
    expect(fb.telemetry.problems().map((p) => p.text).join('\n')).toMatch(/NATS connecting since .*records buffered/);
    const status = await (await fb.api('/api/v1/status')).json() as { scaleout?: { connection: { state: string } } };
    expect(status.scaleout?.connection.state).toBe('connecting');
    const down = await metrics();
    expect(down.get('flowbridge_nats_connected{node="edge1",role="all",state="connecting"}')).toBe(0);
    expect(down.get('flowbridge_nats_buffer_records')).toBeGreaterThanOrEqual(CLIENT_PORTS.length);
    expect(down.get('flowbridge_nats_flow_records_total{reason="closed"}')).toBeGreaterThanOrEqual(CLIENT_PORTS.length);

    // The cluster comes back: flowbridge connects, creates its streams and catches up.
    for (let i = 0; i < 3; i++) await cluster.restart(i);
    await waitFor(() => fb.telemetry.scaleout!().connection.state === 'connected', 'connected to NATS', 30_000);
    await waitFor(() => fb.telemetry.scaleout!().outbox.size === 0, 'the buffer emptied', 30_000);
    expect(fb.telemetry.scaleout!().outbox.dropped.flows).toBe(0);
    const up = await metrics();
    expect(up.get('flowbridge_nats_connected{node="edge1",role="all",state="connected"}')).toBe(1);
    expect(up.get('flowbridge_nats_buffer_records')).toBe(0);
    expect(up.get('flowbridge_nats_published_total{kind="flows"}')).toBeGreaterThanOrEqual(CLIENT_PORTS.length);
    expect(up.get('flowbridge_nats_dropped_total{kind="flows"}')).toBe(0);

    const messages = await readStream(cluster.urls, 'FLOWBRIDGE_FLOWS');
    const records = messages.map((m) => ({ ...m, record: decodeRecord(m.data) as FlowExportRecord }));
    for (const r of records) {
      expect(validate(r.record), JSON.stringify(validate.errors)).toBe(true);
      expect(r.subject).toBe('flowbridge.flows.edge1.lo');
      expect(r.msgId).toBe(`edge1.lo.${r.record.flow.key}.${r.record.flow.firstSeen}.${r.record.update}`);
    }
    const ids = records.map((r) => r.msgId);
    expect(new Set(ids).size).toBe(ids.length);
    // The alert, joined to its flow with the process, and the process summaries published while the flows lived.
    const alerts = (await readStream(cluster.urls, 'FLOWBRIDGE_ALERTS')).map((m) => ({ subject: m.subject, record: decodeRecord(m.data) as AlertExportRecord }));
    expect(alerts).toHaveLength(1);
    expect(alerts[0].subject).toBe('flowbridge.alerts.edge1');
    expect(validate(alerts[0].record), JSON.stringify(validate.errors)).toBe(true);
    expect(alerts[0].record.alert).toMatchObject({ status: 'matched', record: { alert: { signature_id: 9201 } } });
    const summaries = (await readStream(cluster.urls, 'FLOWBRIDGE_PROCESSES')).map((m) => decodeRecord(m.data) as ProcessesExportRecord);
    expect(summaries.length).toBeGreaterThan(0);
    for (const r of summaries) expect(validate(r), JSON.stringify(validate.errors)).toBe(true);
    const named = new Set(summaries.flatMap((r) => r.processes.processes.map((p) => p.path)));
    for (const i of CLIENT_PORTS.keys()) expect(named).toContain(`/usr/bin/job${i}`);

    for (const [i, port] of CLIENT_PORTS.entries()) {
      const finals = records.filter((r) => r.record.final && r.record.flow.client.port === port);
      expect(finals, `final records of client port ${port}`).toHaveLength(1);
      const { record } = finals[0];
      expect(record).toMatchObject({ recordType: 'flow', node: 'edge1', interface: 'lo', reason: 'closed' });
      expect(record.flow).toMatchObject({ closed: true, server: { ip: '127.0.0.1', port: SERVER_PORT }, process: { pid: 5000 + i, path: `/usr/bin/job${i}` } });
      expect(record.flow.seenBy).toEqual(expect.arrayContaining(['packets', 'events']));
      expect(record.flow.bytes).toBeGreaterThan(2_500);
    }
  }, 120_000);
});
