// Merge of events and packets in one flow table (dispatch rule 6), orientation,
// bounds, expiry and the per-process view.
import { describe, expect, it } from 'vitest';
import { normaliseSocketEvent } from '../../src/collector/events/normalise.ts';
import { FlowTable } from '../../src/flows/flow-table.ts';
import type { SocketEvent } from '../../src/model/event.ts';
import { communityId } from '../../src/model/community-id.ts';
import { fixture } from '../support/fixtures.ts';
import type { FrameSpec } from '../support/pcap-writer.ts';
import { applyFrames, conversation } from '../capture/packets.ts';
import { socketEvent } from './socket-events.ts';

const connect = normaliseSocketEvent(fixture('ebpflowexport-connect-docker')); // 172.17.0.2:54348 -> 93.184.216.34:443
const handshake = (flags = ['S', 'SA', 'A']): FrameSpec[] =>
  flags.map((f, i) => (i % 2 === 0
    ? { src: '172.17.0.2', dst: '93.184.216.34', protocol: 'tcp', sport: 54348, dport: 443, flags: f, payload: 100 }
    : { src: '93.184.216.34', dst: '172.17.0.2', protocol: 'tcp', sport: 443, dport: 54348, flags: f, payload: 1000 }));

describe('merge', () => {
  it('joins an event to the flow packets created (packets first)', () => {
    const t = new FlowTable();
    applyFrames(t, handshake());
    t.applyEvent(connect, 'tcp://*:5556c');
    const { total, flows } = t.query({});
    expect(total).toBe(1);
    expect(flows[0]).toMatchObject({
      client: { ip: '172.17.0.2', port: 54348 }, server: { ip: '93.184.216.34', port: 443 },
      packets: 3, bytes: 3 * 54 + 1200, clientToServer: { packets: 2 }, serverToClient: { packets: 1, bytes: 1054 },
      seenBy: ['packets', 'events'], process: { pid: 30197, path: '/usr/bin/curl' }, parent: { path: '/bin/bash' },
      container: { runtime: 'docker', name: 'sleepy_haibt' }, lastEvent: 'CONNECT', latencyMs: 0.221, processSide: 'client',
    });
    expect(flows[0].recentEvents).toEqual([{ timestamp: 1716912345.123456, kind: 'flow', via: 'tcp://*:5556c', eventType: 'CONNECT', pid: 30197 }]);
    expect(t.stats().bySeen).toEqual({ packets: 0, events: 0, both: 1 });
  });

  it('keeps the last 8 events of a flow, each as it came, and a record taken earlier does not change', () => {
    const t = new FlowTable();
    const kernel = { ...connect, eventType: 'RETRANSMIT' as const, local: {} };
    const netstat = { ...connect, kind: 'netstat' as const, eventType: undefined, local: {} };
    const sequence: SocketEvent[] = [connect, connect, kernel, connect, netstat, connect, connect, kernel, connect, netstat, connect, kernel];
    let before: ReturnType<FlowTable['query']>['flows'][number] | undefined;
    sequence.forEach((e, i) => {
      t.applyEvent({ ...e, timestamp: i }, `via ${i}`);
      // Just before the oldest note (a CONNECT) is rewritten as the ninth event.
      if (i === 7) before = t.query({}).flows[0];
    });
    const note = (i: number) => {
      const e = sequence[i];
      return { timestamp: i, kind: e.kind, via: `via ${i}`, ...(e.eventType ? { eventType: e.eventType } : {}), ...(e.local.process ? { pid: e.local.process.pid } : {}) };
    };
    expect(t.query({}).flows[0].recentEvents).toStrictEqual([4, 5, 6, 7, 8, 9, 10, 11].map(note));
    expect(before!.recentEvents).toStrictEqual([0, 1, 2, 3, 4, 5, 6, 7].map(note));
  });

  it('lets packets join a flow the event created (events first)', () => {
    const t = new FlowTable();
    t.applyEvent(connect, 'z');
    expect(t.query({}).flows[0].seenBy).toEqual(['events']);
    expect(t.stats().bySeen.events).toBe(1);
    applyFrames(t, handshake(['A', 'A']));
    const [flow] = t.query({}).flows;
    expect(flow.seenBy).toEqual(['packets', 'events']);
    expect(flow.packets).toBe(2);
    expect(flow.client).toEqual({ ip: '172.17.0.2', port: 54348 });
    expect(t.stats().active).toBe(1);
  });

  it('orients ACCEPT and CONNECT alike: the connecting side is the client', () => {
    const t = new FlowTable();
    const accept = normaliseSocketEvent(fixture('ebpflowexport-accept')); // client 192.168.1.50:51822 -> sshd :22
    // Packets seen mid-connection, server first: a guess from ports, then the event decides.
    applyFrames(t, [{ src: '192.168.1.10', dst: '192.168.1.50', protocol: 'tcp', sport: 22, dport: 51822, flags: 'A', payload: 10 }]);
    t.applyEvent(accept, 'z');
    const [flow] = t.query({}).flows;
    expect(flow.client).toEqual({ ip: '192.168.1.50', port: 51822 });
    expect(flow.server).toEqual({ ip: '192.168.1.10', port: 22 });
    expect(flow.process?.path).toBe('/usr/sbin/sshd');
    expect(flow.processSide).toBe('server');
    expect(flow.serverToClient.packets).toBe(1);
  });

  it('shows both ends when both hosts report (CONNECT and ACCEPT of one connection)', () => {
    const t = new FlowTable();
    const base = { INTERFACE_NAME: 'lo', IP_PROTOCOL_VERSION: 4, PROTOCOL: 6, IPV4_SRC_ADDR: '10.0.0.1', IPV4_DST_ADDR: '10.0.0.2', L4_SRC_PORT: 40000, L4_DST_PORT: 5432 };
    t.applyEvent(normaliseSocketEvent({ ...base, TCP_EVENT_TYPE: 'CONNECT', LOCAL_PROCESS: { PID: 1, PROCESS_PATH: '/usr/bin/psql' } }), 'z');
    t.applyEvent(normaliseSocketEvent({ ...base, TCP_EVENT_TYPE: 'ACCEPT', LOCAL_PROCESS: { PID: 2, PROCESS_PATH: '/usr/bin/postgres' } }), 'z');
    const [flow] = t.query({}).flows;
    expect(flow.process?.path).toBe('/usr/bin/psql');
    expect(flow.sides?.server?.process?.path).toBe('/usr/bin/postgres');
    expect(flow.lastEvent).toBe('ACCEPT');
  });

  it('compares IPv6 in canonical form', () => {
    const t = new FlowTable();
    t.applyEvent(normaliseSocketEvent(fixture('ebpflowexport-udp-send-ipv6-k8s')), 'z');
    applyFrames(t, [{ src: 'fd00:10:244:0:0:0:0:7', dst: 'fd00:10:96:0:0:0:0:a', protocol: 'udp', sport: 43211, dport: 53, payload: 30 }]);
    const { total, flows } = t.query({ host: 'fd00:10:244::7' });
    expect(total).toBe(1);
    expect(flows[0]).toMatchObject({ ipVersion: 6, seenBy: ['packets', 'events'], client: { ip: 'fd00:10:244::7', port: 43211 }, container: { runtime: 'k8s', pod: 'coredns-5d78c9869d-x7k2p', namespace: 'kube-system' } });
  });

  it('finds VLAN-tagged packet flows from events, which cannot see VLANs', () => {
    const t = new FlowTable();
    applyFrames(t, handshake().map((s) => ({ ...s, vlan: 42 })));
    t.applyEvent(connect, 'z');
    expect(t.query({}).flows).toEqual([expect.objectContaining({ vlan: 42, seenBy: ['packets', 'events'] })]);
  });
});

describe('closed flows and the grace period', () => {
  it('gives a short connection its process when the event arrives after the packets ended', () => {
    const t = new FlowTable({ closedGraceMs: 30_000 });
    const t0 = Date.now();
    applyFrames(t, [...handshake(), { src: '172.17.0.2', dst: '93.184.216.34', protocol: 'tcp', sport: 54348, dport: 443, flags: 'FA' }, { src: '93.184.216.34', dst: '172.17.0.2', protocol: 'tcp', sport: 443, dport: 54348, flags: 'FA' }], t0);
    expect(t.query({}).flows[0].closed).toBe(true);
    t.expire(t0 + 5_000);
    t.applyEvent(connect, 'z', t0 + 5_000);
    const { total, flows } = t.query({});
    expect(total).toBe(1);
    expect(flows[0]).toMatchObject({ packets: 5, process: { pid: 30197 }, seenBy: ['packets', 'events'] });
  });

  it('expires closed flows after the grace period; a later event makes a new events-only flow', () => {
    const t = new FlowTable({ closedGraceMs: 1_000, idleTimeoutMs: 60_000 });
    const t0 = Date.now();
    applyFrames(t, [...handshake(), { src: '172.17.0.2', dst: '93.184.216.34', protocol: 'tcp', sport: 54348, dport: 443, flags: 'R' }], t0);
    t.expire(t0 + 2_000);
    expect(t.stats()).toMatchObject({ active: 0, expired: 1 });
    t.applyEvent(connect, 'z', t0 + 2_000);
    expect(t.query({}).flows[0].seenBy).toEqual(['events']);
  });

  it('removes idle flows after the idle timeout only', () => {
    const t = new FlowTable({ idleTimeoutMs: 10_000, closedGraceMs: 1_000 });
    const t0 = Date.now();
    applyFrames(t, handshake(['A']), t0);
    t.expire(t0 + 5_000);
    expect(t.stats().active).toBe(1);
    t.expire(t0 + 11_000);
    expect(t.stats()).toMatchObject({ active: 0, expired: 1 });
  });
});

describe('netstat counters', () => {
  it('turns cumulative counters into deltas and treats a counter going backwards as a reset', () => {
    const t = new FlowTable();
    const snap = (bytes: number, segs: number) =>
      normaliseSocketEvent({ ...fixture('netstat-established'), TCP: { CONN_STATE: 'ESTABLISHED', SEGS_IN: segs, SEGS_OUT: segs, BYTES_RCVD: bytes, BYTES_ACKED: 0 } });
    t.applyEvent(snap(1000, 10), 'z');
    t.applyEvent(snap(1500, 15), 'z');
    t.applyEvent(snap(200, 2), 'z'); // the socket was reused: counters restarted
    const [flow] = t.query({}).flows;
    expect(flow.netstat).toEqual({ segsIn: 17, segsOut: 17, bytesReceived: 1700, bytesAcked: 0, resets: 1 });
    expect(flow.lastEvent).toBe('NETSTAT');
    expect(flow.tcp?.state).toBe('ESTABLISHED');
    expect(flow.client).toEqual({ ip: '192.168.2.131', port: 41234 });
  });
});

describe('bounds', () => {
  it('evicts the least recently updated flow when full, and counts it', () => {
    const t = new FlowTable({ maxFlows: 3 });
    for (let i = 0; i < 5; i++) t.applyEvent(normaliseSocketEvent({ ...fixture('ebpflowexport-connect-docker'), L4_SRC_PORT: 50000 + i }), 'z');
    expect(t.stats()).toMatchObject({ active: 3, bound: 3, evicted: 2, bySeen: { events: 3 } });
    expect(t.query({ port: 50000 }).total).toBe(0);
    expect(t.query({ port: 50004 }).total).toBe(1);
  });
});

describe('queries and the per-process view', () => {
  const table = () => {
    const t = new FlowTable();
    const procs = ['/usr/bin/curl', '/usr/bin/wget', '/usr/sbin/nginx', '/usr/bin/psql'];
    procs.forEach((path, i) => {
      const port = 50000 + i;
      t.applyEvent(normaliseSocketEvent({ ...fixture('ebpflowexport-connect-docker'), L4_SRC_PORT: port, LOCAL_PROCESS: { PID: 100 + i, PROCESS_PATH: path } }), 'z');
      applyFrames(t, [{ src: '172.17.0.2', dst: '93.184.216.34', protocol: 'tcp', sport: port, dport: 443, flags: 'A', payload: 1000 * (i + 1) }]);
    });
    return t;
  };

  it('filters by host, port and process, sorts and limits, and reports the total before the limit', () => {
    const t = table();
    expect(t.query({ process: 'CURL' }).flows.map((f) => f.process?.pid)).toEqual([100]);
    expect(t.query({ process: '102' }).flows.map((f) => f.process?.path)).toEqual(['/usr/sbin/nginx']);
    expect(t.query({ port: 50001 }).total).toBe(1);
    expect(t.query({ host: '93.184.216.34' }).total).toBe(4);
    expect(t.query({ host: '10.9.9.9' }).total).toBe(0);
    const top2 = t.query({ sort: 'bytes', limit: 2 });
    expect(top2.total).toBe(4);
    expect(top2.flows.map((f) => f.process?.pid)).toEqual([103, 102]);
  });

  it('sums traffic per process, top N with the rest as other', () => {
    const t = table();
    const rows = t.processTraffic(2);
    expect(rows.map((r) => r.process)).toEqual(['psql', 'nginx', 'other']);
    expect(rows[2]).toEqual({ process: 'other', bytes: 2054 + 1054, packets: 2 });
  });
});

describe('short connections, port reuse and the views', () => {
  const client: [string, number] = ['10.0.0.1', 41000];
  const server: [string, number] = ['10.0.0.2', 8080];

  it('a connection whose CONNECT and CLOSE events beat its packets is still one flow with its process', () => {
    const t = new FlowTable();
    const t0 = Date.now();
    t.applyEvent(socketEvent({ client, server, eventType: 'CONNECT', pid: 5, path: '/usr/bin/wget' }), 'z', t0);
    t.applyEvent(socketEvent({ client, server, eventType: 'CLOSE', pid: 5, path: '/usr/bin/wget' }), 'z', t0 + 1);
    // The capture hands its batch over later, with the packets' own (earlier) times.
    applyFrames(t, conversation(client, server, ['S', 'SA', 'A', 'FA', 'FA']), t0 - 50);
    const { total, flows } = t.query({});
    expect(total).toBe(1);
    expect(flows[0]).toMatchObject({ packets: 5, seenBy: ['packets', 'events'], process: { pid: 5 }, closed: true, lastEvent: 'CLOSE' });
  });

  it('a SYN after a flow closed is a new connection on the same ports', () => {
    const t = new FlowTable();
    const t0 = Date.now();
    applyFrames(t, conversation(client, server, ['S', 'SA', 'A', 'FA', 'FA']), t0);
    t.applyEvent(socketEvent({ client, server, eventType: 'CONNECT', pid: 5, path: '/usr/bin/wget' }), 'z', t0 + 10);
    applyFrames(t, conversation(client, server, ['S', 'SA']), t0 + 1_000);
    const [flow] = t.query({}).flows;
    expect(t.query({}).total).toBe(1);
    expect(flow).toMatchObject({ packets: 2, closed: false, seenBy: ['packets'] });
    expect(flow.process).toBeUndefined();
  });

  it('a CLOSE event closes the flow; it goes after the grace period', () => {
    const t = new FlowTable({ closedGraceMs: 1_000, idleTimeoutMs: 60_000 });
    const t0 = Date.now();
    t.applyEvent(socketEvent({ client, server, eventType: 'CLOSE', pid: 5 }), 'z', t0);
    expect(t.query({}).flows[0].closed).toBe(true);
    t.expire(t0 + 500);
    expect(t.stats().active).toBe(1);
    t.expire(t0 + 1_500);
    expect(t.stats()).toMatchObject({ active: 0, expired: 1 });
  });

  it('counts evictions of packet flows too, and keeps the most recently updated', () => {
    const t = new FlowTable({ maxFlows: 2 });
    for (const port of [1, 2, 3]) applyFrames(t, [{ src: '10.0.0.1', dst: '10.0.0.2', protocol: 'udp', sport: 40000 + port, dport: 53 }]);
    expect(t.stats()).toMatchObject({ active: 2, evicted: 1, bySeen: { packets: 2 } });
    expect(t.query({ port: 40001 }).total).toBe(0);
  });

  it('keeps one flow per VLAN for the same endpoints', () => {
    const t = new FlowTable();
    applyFrames(t, [100, 200].map((vlan) => ({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 'udp' as const, sport: 40000, dport: 53, vlan })));
    expect(t.query({}).flows.map((f) => f.vlan).sort()).toEqual([100, 200]);
  });

  it('filters hosts by any spelling of an IPv6 address', () => {
    const t = new FlowTable();
    applyFrames(t, [{ src: '2001:db8::1', dst: '2001:db8::2', protocol: 'tcp', sport: 40000, dport: 443, flags: 'S' }]);
    expect(t.query({ host: '2001:DB8:0:0:0:0:0:1' }).total).toBe(1);
    expect(t.query({ host: '2001:db8::3' }).total).toBe(0);
  });

  it('drops the processes of flows that are gone from the per-process view; a process without path shows its pid', () => {
    const t = new FlowTable({ idleTimeoutMs: 10_000 });
    const t0 = Date.now();
    t.applyEvent(socketEvent({ client, server, eventType: 'CONNECT', pid: 77 }), 'z', t0);
    applyFrames(t, conversation(client, server, ['A'], 100), t0);
    expect(t.processTraffic()).toEqual([{ process: 'pid 77', bytes: 154, packets: 1 }]);
    t.expire(t0 + 20_000);
    expect(t.processTraffic()).toEqual([]);
  });

  it('sorts by packets, first and last seen, and caps the limit at 10000', () => {
    const t = new FlowTable();
    const t0 = Date.now();
    applyFrames(t, [{ src: '10.0.0.1', dst: '10.0.0.2', protocol: 'udp', sport: 40001, dport: 53 }], t0);
    applyFrames(t, [40002, 40002, 40002].map((sport) => ({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 'udp' as const, sport, dport: 53 })), t0 + 1_000);
    expect(t.query({ sort: 'packets' }).flows.map((f) => f.client.port)).toEqual([40002, 40001]);
    expect(t.query({ sort: 'lastSeen' }).flows[0].client.port).toBe(40002);
    expect(t.query({ sort: 'firstSeen' }).flows[0].client.port).toBe(40001);
    expect(t.query({ limit: 1 })).toMatchObject({ total: 2, flows: [expect.anything()] });
    expect(t.query({ limit: 50_000 }).flows).toHaveLength(2);
  });
});

describe('query over many flows', () => {
  it('returns the same top flows as sorting them all would, with the total before the limit', () => {
    const t = new FlowTable();
    let seed = 7;
    const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % 5000);
    const sizes = new Map<number, number>();
    for (let i = 0; i < 2_000; i++) {
      const payload = random();
      sizes.set(20_000 + i, payload);
      applyFrames(t, [{ src: '10.0.0.1', dst: '10.0.0.2', protocol: 'udp', sport: 20_000 + i, dport: 53, payload }]);
    }
    const expected = [...sizes.entries()].sort((x, y) => y[1] - x[1]).slice(0, 25).map(([, payload]) => payload);
    const { total, flows } = t.query({ limit: 25, process: undefined });
    expect(total).toBe(2_000);
    expect(flows.map((f) => f.bytes - 42)).toEqual(expected);
    expect(t.query({ limit: 0 })).toEqual({ total: 2_000, flows: [] });
  });
});

describe('Community ID', () => {
  it('names each flow as an IDS would, whichever way its packets went, and finds it by that name', () => {
    const t = new FlowTable({ maxFlows: 100 });
    applyFrames(t, [
      { src: '10.1.0.5', dst: '10.1.0.9', protocol: 'tcp', sport: 40000, dport: 443, flags: 'S' },
      { src: '10.1.0.9', dst: '10.1.0.5', protocol: 'tcp', sport: 443, dport: 40000, flags: 'SA' },
      { src: '10.1.0.5', dst: '10.1.0.7', protocol: 'udp', sport: 5353, dport: 53, payload: 20 },
    ]);
    const id = communityId(6, '10.1.0.5', 40000, '10.1.0.9', 443);
    expect(communityId(6, '10.1.0.9', 443, '10.1.0.5', 40000)).toBe(id);
    const found = t.query({ communityId: id });
    expect(found.total).toBe(1);
    expect(found.flows[0]).toMatchObject({ communityId: id, client: { ip: '10.1.0.5', port: 40000 }, server: { ip: '10.1.0.9', port: 443 } });
    expect(t.query({}).flows.map((f) => f.communityId).sort()).toEqual([id, communityId(17, '10.1.0.7', 53, '10.1.0.5', 5353)].sort());

    const seeded = new FlowTable({ maxFlows: 100, communityIdSeed: 1 });
    applyFrames(seeded, [{ src: '10.1.0.5', dst: '10.1.0.9', protocol: 'tcp', sport: 40000, dport: 443, flags: 'S' }]);
    expect(seeded.query({}).flows[0].communityId).toBe(communityId(6, '10.1.0.5', 40000, '10.1.0.9', 443, 1));
    expect(seeded.query({ communityId: id }).total).toBe(0);
  });
});
