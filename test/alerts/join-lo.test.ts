// The join on real traffic: UDP flows captured on lo, alerts about them arriving by
// --eve-socket (named by community_id), by --eve-file (by the 5-tuple, seen from the
// other direction) and by POST (one before its flow exists, one for no flow at all).
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { communityId } from '../../src/model/community-id.ts';
import type { FlowRecord } from '../../src/model/flow.ts';
import { startWithFlags } from '../support/flowbridge.ts';
import { describeAsRoot } from '../support/privileges.ts';
import { waitFor } from '../support/wait.ts';
import { eveAlert, lines } from './support.ts';

const SERVER_PORT = 16921;
const LATE_PORT = 16922;
const NOBODY_PORT = 16929;
const dir = mkdtempSync(join(tmpdir(), 'fb-alerts-'));
const eveFile = join(dir, 'eve.json');
const eveSocket = join(dir, 'eve.sock');
let fb: Awaited<ReturnType<typeof startWithFlags>>;

interface AlertView {
  id: string;
  source: string;
  status: string;
  unmatchedReason?: string;
  flow: { interface: string; key: string; communityId: string; client: { ip: string; port: number }; server: { ip: string; port: number }; by: string } | null;
  flows: unknown[];
}

/** A UDP exchange on lo from an ephemeral port to `port` (answered); resolves with the client's port. */
async function udpExchange(port: number): Promise<number> {
  const server = createSocket('udp4');
  server.on('message', (_m, from) => server.send(Buffer.from('pong'), from.port, from.address));
  await new Promise<void>((r) => server.bind(port, '127.0.0.1', r));
  const client = createSocket('udp4');
  await new Promise<void>((r) => client.bind(0, '127.0.0.1', r));
  const answered = new Promise<void>((r) => client.once('message', () => r()));
  client.send(Buffer.from('ping'), port, '127.0.0.1');
  await answered;
  const clientPort = client.address().port;
  client.close();
  server.close();
  return clientPort;
}

async function alertsWith(sig: number): Promise<AlertView[]> {
  const r = await fb.api(`/api/v1/alerts?signature_id=${sig}`);
  return ((await r.json()) as { alerts: AlertView[] }).alerts;
}
const settled = (sig: number) => waitFor(async () => {
  const [a] = await alertsWith(sig);
  return a && a.status !== 'pending' ? a : undefined;
}, `alert ${sig} to settle`, 15_000);

describeAsRoot('alerts joined to flows captured on lo', 'capture on lo', () => {
  beforeAll(async () => {
    writeFileSync(eveFile, '');
    fb = await startWithFlags(['-i', 'lo', '--bpf', 'lo=udp portrange 16920-16929', '--eve-file', eveFile, '--eve-socket', eveSocket]);
  });
  afterAll(async () => {
    await fb?.stop();
  });

  it('joins by community_id (socket) and by the reverse 5-tuple (file); an alert for no flow ends unmatched', async () => {
    const clientPort = await udpExchange(SERVER_PORT);
    const flow = await waitFor(async () => {
      const r = await fb.api(`/api/v1/interfaces/lo/flows?port=${SERVER_PORT}`);
      return ((await r.json()) as { flows: FlowRecord[] }).flows[0];
    }, 'the UDP flow on lo');
    const cid = communityId(17, '127.0.0.1', clientPort, '127.0.0.1', SERVER_PORT);
    expect(flow.communityId).toBe(cid);

    // Suricata's unix_stream output: the reply packet fired, community_id on.
    const reply = { proto: 'UDP', src_ip: '127.0.0.1', src_port: SERVER_PORT, dest_ip: '127.0.0.1', dest_port: clientPort };
    const sock = connect(eveSocket);
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.write(lines(eveAlert({ ...reply, community_id: cid, alert: { signature_id: 9101, signature: 'by community id' } })));
    // eve.json: the same reply packet, without community_id.
    appendFileSync(eveFile, lines(eveAlert({ ...reply, alert: { signature_id: 9102, signature: 'by 5-tuple' } })));
    // A community_id that is not this flow's (another seed): the tuple alone does not make it a match.
    sock.write(lines(eveAlert({ ...reply, community_id: communityId(17, '127.0.0.1', clientPort, '127.0.0.1', SERVER_PORT, 7), alert: { signature_id: 9104 } })));
    // An alert about a flow that never was.
    const nobody = await fb.api('/api/v1/alerts', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(eveAlert({ proto: 'UDP', src_ip: '127.0.0.1', src_port: 40000, dest_ip: '127.0.0.1', dest_port: NOBODY_PORT, alert: { signature_id: 9103 } })) });
    expect(nobody.status).toBe(201);
    expect(((await nobody.json()) as { alerts: AlertView[] }).alerts[0].status).toBe('pending');

    const expected = { interface: 'lo', key: flow.key, communityId: cid, client: { ip: '127.0.0.1', port: clientPort }, server: { ip: '127.0.0.1', port: SERVER_PORT } };
    const byCid = await settled(9101);
    expect(byCid).toMatchObject({ source: 'eve-socket', status: 'matched', flow: { ...expected, by: 'community-id' } });
    const byTuple = await settled(9102);
    expect(byTuple).toMatchObject({ source: 'eve-file', status: 'matched', flow: { ...expected, by: '5-tuple' } });
    expect(byTuple.flows).toHaveLength(1);
    const otherSeed = await settled(9104);
    expect(otherSeed).toMatchObject({ status: 'unmatched', unmatchedReason: 'community-id-differs', flow: null });
    const none = await settled(9103);
    expect(none).toMatchObject({ source: 'api', status: 'unmatched', unmatchedReason: 'no-flow', flow: null, flows: [] });
    sock.destroy();

    // Found by the flow's Community ID too, though the record came without one.
    const r = await fb.api(`/api/v1/alerts?community_id=${encodeURIComponent(cid)}`);
    expect(((await r.json()) as { alerts: AlertView[] }).alerts.map((a) => a.id).sort()).toEqual([byCid.id, byTuple.id].sort());
    const stats = (await (await fb.api('/api/v1/alerts/stats')).json()) as { matched: number; unmatched: Record<string, number>; bySource: Record<string, number> };
    expect(stats).toMatchObject({ matched: 2, unmatched: { 'no-flow': 1, 'community-id-differs': 1 }, bySource: { 'eve-file': 1, 'eve-socket': 2, api: 1 } });
  }, 40_000);

  it('an alert that arrives before its flow waits and joins it when the packets are in', async () => {
    const clientPort = 16925;
    const body = JSON.stringify(eveAlert({ proto: 'UDP', src_ip: '127.0.0.1', src_port: clientPort, dest_ip: '127.0.0.1', dest_port: LATE_PORT, alert: { signature_id: 9201 } }));
    const r = await fb.api('/api/v1/alerts', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(((await r.json()) as { alerts: AlertView[] }).alerts[0].status).toBe('pending');
    // The packets come after the alert.
    const server = createSocket('udp4');
    await new Promise<void>((res) => server.bind(LATE_PORT, '127.0.0.1', res));
    const client = createSocket('udp4');
    await new Promise<void>((res) => client.bind(clientPort, '127.0.0.1', res));
    client.send(Buffer.from('late'), LATE_PORT, '127.0.0.1');
    const a = await settled(9201);
    client.close();
    server.close();
    expect(a).toMatchObject({ status: 'matched', flow: { interface: 'lo', client: { port: clientPort }, server: { port: LATE_PORT }, by: '5-tuple' } });
  });
});
