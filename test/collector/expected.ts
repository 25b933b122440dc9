// What each real producer payload of test/fixtures/events must become, written out
// by hand from reference/events.md (never computed by the code under test), plus the
// variants of the producer quirks that the reference lists. Shared by the unit tests
// and the tests over real sockets.
import type { CollectedEvent, CountersEvent, ListeningPortsEvent, SocketEvent } from '../../src/model/event.ts';
import { fixture } from '../support/fixtures.ts';

export type Topic = 'flow' | 'counter' | 'listening-ports';

export const SOCKET_FIXTURES = [
  'ebpflowexport-accept',
  'ebpflowexport-connect-docker',
  'ebpflowexport-connect-failed',
  'ebpflowexport-retransmit',
  'ebpflowexport-udp-recv',
  'ebpflowexport-udp-send-ipv6-k8s',
  'netstat-established',
  'nprobe-mini-connect',
] as const;

export const ALL_FIXTURES = [...SOCKET_FIXTURES, 'counters-veth', 'listening-ports'] as const;
export type FixtureName = (typeof ALL_FIXTURES)[number];

/** The topic each fixture is published on (fixtures/events/README.md). */
export function topicOf(name: FixtureName): Topic {
  if (name === 'counters-veth') return 'counter';
  if (name === 'listening-ports') return 'listening-ports';
  return 'flow';
}

const K8S_ID = '275d71585e03a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071829';
const DOCKER_ID = 'cbd2540ec5be8b1c46d0f5a37d2f4c0e9a86f2b3d9c4a1e7b6f5d4c3';

const EXPECTED: Record<FixtureName, CollectedEvent> = {
  // ACCEPT: libebpfflow's SRC is the remote client, DST the local server.
  'ebpflowexport-accept': {
    kind: 'flow', timestamp: 1716912346.000812, ifName: 'ens3', ipVersion: 4, protocol: 6, eventType: 'ACCEPT',
    client: { ip: '192.168.1.50', port: 51822 }, server: { ip: '192.168.1.10', port: 22 }, localSide: 'server',
    local: {
      process: { pid: 812, tid: 812, uid: 0, gid: 0, group: 'root', path: '/usr/sbin/sshd', cmdline: '-D' },
      parent: { pid: 1, tid: 0, uid: 0, user: 'daemon', gid: 0, group: 'root', path: '/usr/lib/systemd/systemd', cmdline: '--system' },
    },
    remote: {},
  },
  // CONNECT: SRC is the local client; a Docker container.
  'ebpflowexport-connect-docker': {
    kind: 'flow', timestamp: 1716912345.123456, ifName: 'eth0', ipVersion: 4, protocol: 6, eventType: 'CONNECT',
    client: { ip: '172.17.0.2', port: 54348 }, server: { ip: '93.184.216.34', port: 443 }, localSide: 'client',
    latencyMs: 0.221,
    local: {
      process: { pid: 30197, tid: 30197, uid: 0, gid: 0, group: 'root', path: '/usr/bin/curl', cmdline: 'https://example.com' },
      parent: { pid: 26219, tid: 0, uid: 0, gid: 0, group: 'root', path: '/bin/bash', cmdline: '' },
      container: { runtime: 'docker', id: DOCKER_ID, name: 'sleepy_haibt' },
    },
    remote: {},
  },
  'ebpflowexport-connect-failed': {
    kind: 'flow', timestamp: 1716912349.010101, ifName: 'eth0', ipVersion: 4, protocol: 6, eventType: 'CONNECT_FAILED',
    client: { ip: '10.0.0.5', port: 40100 }, server: { ip: '10.0.0.99', port: 8080 }, localSide: 'client',
    local: {
      process: { pid: 5120, tid: 5120, uid: 1000, gid: 1000, group: 'alice', path: '/usr/bin/python3.11', cmdline: 'client.py' },
      parent: { pid: 4990, tid: 0, uid: 1000, gid: 1000, group: 'alice', path: '/usr/bin/bash', cmdline: '' },
    },
    remote: {},
  },
  // RETRANSMIT runs in kernel context: no process.
  'ebpflowexport-retransmit': {
    kind: 'flow', timestamp: 1716912347.5, ifName: 'eth0', ipVersion: 4, protocol: 6, eventType: 'RETRANSMIT',
    client: { ip: '10.0.0.5', port: 40022 }, server: { ip: '10.0.0.9', port: 5432 }, localSide: 'client',
    retransmittedPackets: 1, local: {}, remote: {},
  },
  // A received UDP packet labelled SEND, without a local process: the local host is DST.
  'ebpflowexport-udp-recv': {
    kind: 'flow', timestamp: 1716912348.0009, ifName: 'eth0', ipVersion: 4, protocol: 17, eventType: 'SEND',
    client: { ip: '192.168.1.10', port: 38211 }, server: { ip: '8.8.8.8', port: 53 }, localSide: 'client',
    local: {}, remote: {},
  },
  'ebpflowexport-udp-send-ipv6-k8s': {
    kind: 'flow', timestamp: 1716912348.0001, ifName: 'cni0', ipVersion: 6, protocol: 17, eventType: 'SEND',
    client: { ip: 'fd00:10:244::7', port: 43211 }, server: { ip: 'fd00:10:96::a', port: 53 }, localSide: 'client',
    local: {
      process: { pid: 4242, tid: 4242, uid: 65532, gid: 65532, path: '/coredns', cmdline: '-conf' },
      parent: { pid: 4100, tid: 0, uid: 0, gid: 0, group: 'root', path: '/usr/bin/containerd-shim-runc-v2', cmdline: '-namespace' },
      container: { runtime: 'k8s', id: K8S_ID, name: 'coredns', pod: 'coredns-5d78c9869d-x7k2p', namespace: 'kube-system' },
    },
    remote: {},
  },
  // A netstat snapshot (TCP block, no event type), nprobe_mini's LOCAL/REMOTE naming.
  'netstat-established': {
    kind: 'netstat', timestamp: 1557135870, ifName: 'ens3', ipVersion: 4, protocol: 6,
    client: { ip: '192.168.2.131', port: 41234 }, server: { ip: '151.101.1.69', port: 443 }, localSide: 'client',
    local: { process: { pid: 2210, uid: 1000, user: 'alice', gid: 1000, path: '/usr/lib/firefox/firefox', vmSizeKb: 2841232, vmPeakKb: 2901000 } },
    remote: {},
    tcp: {
      state: 'ESTABLISHED', segsIn: 812, segsOut: 640, unackSegments: 0, retransmittedPackets: 2, lostPackets: 0,
      rttMs: 21.5, rttVarianceMs: 3.2, bytesReceived: 1048576, bytesAcked: 65536,
    },
  },
  // The 2019 nprobe_mini format: LOCAL/REMOTE naming, IF_NAME, a top-level TID.
  'nprobe-mini-connect': {
    kind: 'flow', timestamp: 1557135868.956831, ifName: 'cbr0', ipVersion: 4, protocol: 6, eventType: 'CONNECT',
    client: { ip: '10.1.1.1', port: 58916 }, server: { ip: '10.1.1.13', port: 10054 }, localSide: 'client',
    latencyMs: 0.177, exporterIp: '192.168.2.131', tid: 0,
    local: {
      process: { pid: 29730, uid: 0, gid: 0, group: 'root', path: '/snap/microk8s/522/kubelet' },
      parent: { pid: 1, uid: 0, user: 'daemon', gid: 0, group: 'root', path: '/lib/systemd/systemd' },
    },
    remote: {},
  },
  // deviceIP 3232236163 = 0xC0A80283.
  'counters-veth': {
    kind: 'counters', deviceIp: '192.168.2.131', ifIndex: 3, ifName: 'veth1a2b3c', ifType: 6, ifSpeed: 10000, ifDirection: 'Full',
    adminUp: true, operUp: true, promiscuous: false, inOctets: 123456789, inPackets: 98765, inErrors: 0,
    outOctets: 2345678, outPackets: 4567, outErrors: 0, container: { runtime: 'docker', id: 'cbd2540ec5be', name: 'web' },
  },
  'listening-ports': {
    kind: 'listening-ports', instanceName: 'host-a', addresses: ['192.168.1.10'],
    ports: [
      { protocol: 'tcp', ipVersion: 4, port: 22, process: 'sshd', package: 'openssh-server' },
      { protocol: 'udp', ipVersion: 4, port: 53, process: 'systemd-resolved', package: 'systemd' },
    ],
  },
};

export function expectedEvent(name: 'counters-veth'): CountersEvent;
export function expectedEvent(name: 'listening-ports'): ListeningPortsEvent;
export function expectedEvent(name: (typeof SOCKET_FIXTURES)[number]): SocketEvent;
export function expectedEvent(name: FixtureName): CollectedEvent;
export function expectedEvent(name: FixtureName): CollectedEvent {
  return structuredClone(EXPECTED[name]);
}

/** A record to publish, on its topic, and the event it must become. */
export interface Case {
  name: string;
  topic: Topic;
  record: Record<string, unknown>;
  expected: CollectedEvent;
}

const socket = (name: (typeof SOCKET_FIXTURES)[number]) => ({ record: fixture(name), expected: expectedEvent(name) });

/**
 * The producer quirks of reference/events.md as variants of the fixtures. Every value
 * is one nDPI TLV can carry exactly too (TLV floats are 32-bit, so no fractional
 * numeric timestamp here: that one is checked in JSON only).
 */
export function variantCases(): Case[] {
  const cases: Case[] = [];
  const add = (name: string, topic: Topic, record: Record<string, unknown>, expected: CollectedEvent) => cases.push({ name, topic, record, expected });
  {
    const { record, expected } = socket('ebpflowexport-udp-send-ipv6-k8s');
    add('IPv6 in a non-canonical form', 'flow', { ...record, IPV6_SRC_ADDR: 'FD00:0010:0244:0000:0000:0000:0000:0007', IPV6_DST_ADDR: 'fd00:10:96:0:0:0:0:a' }, expected);
  }
  {
    const { record, expected } = socket('ebpflowexport-udp-send-ipv6-k8s');
    add('IPv4-mapped IPv6 loopback', 'flow', { ...record, IPV6_SRC_ADDR: '::FFFF:7F00:1', IPV6_DST_ADDR: '::ffff:127.0.0.53' },
      { ...(expected as SocketEvent), client: { ip: '::ffff:127.0.0.1', port: 43211 }, server: { ip: '::ffff:127.0.0.53', port: 53 } });
  }
  {
    const { record, expected } = socket('ebpflowexport-accept');
    add('numeric timestamp', 'flow', { ...record, timestamp: 1716912346 }, { ...(expected as SocketEvent), timestamp: 1716912346 });
  }
  {
    const { record, expected } = socket('ebpflowexport-retransmit');
    const { INTERFACE_NAME, ...rest } = record;
    add('IF_NAME instead of INTERFACE_NAME', 'flow', { ...rest, IF_NAME: INTERFACE_NAME }, expected);
  }
  {
    const { record, expected } = socket('nprobe-mini-connect');
    const e = expected as SocketEvent;
    add('nprobe_mini ACCEPT: the local side is the server', 'flow', { ...record, TCP_EVENT_TYPE: 'ACCEPT' },
      { ...e, eventType: 'ACCEPT', client: { ip: '10.1.1.13', port: 10054 }, server: { ip: '10.1.1.1', port: 58916 }, localSide: 'server' });
  }
  {
    const { record, expected } = socket('ebpflowexport-udp-recv');
    add('UDP RECV: the local host is DST', 'flow', { ...record, UDP_EVENT_TYPE: 'RECV' }, { ...(expected as SocketEvent), eventType: 'RECV' });
  }
  {
    const { record, expected } = socket('ebpflowexport-connect-docker');
    const e = expected as SocketEvent;
    add('CLOSE: SRC is the local client', 'flow', { ...record, TCP_EVENT_TYPE: 'CLOSE', NW_LATENCY_MS: undefined }, (() => {
      const { latencyMs: _, ...rest } = e;
      return { ...rest, eventType: 'CLOSE' } as SocketEvent;
    })());
  }
  {
    const { record, expected } = socket('netstat-established');
    add('netstat LISTEN socket', 'flow', { ...record, IPV4_REMOTE_ADDR: '0.0.0.0', L4_LOCAL_PORT: 8080, L4_REMOTE_PORT: 0, TCP: { CONN_STATE: 'LISTEN' } },
      { ...(expected as SocketEvent), client: { ip: '0.0.0.0', port: 0 }, server: { ip: '192.168.2.131', port: 8080 }, localSide: 'server', tcp: { state: 'LISTEN' } });
  }
  {
    const { record, expected } = socket('ebpflowexport-connect-failed');
    add('remote process and container, unknown keys kept', 'flow', {
      ...record, REMOTE_PROCESS: { PID: 77, PROCESS_PATH: '/srv/api' }, REMOTE_FATHER_PROCESS: { PID: 1 }, REMOTE_CONTAINER: { ID: 'abc123', NAME: 'db' },
      CUSTOM_TAG: 'blue', CUSTOM_COUNT: 5, CUSTOM_NESTED: { a: [1, 'b'] },
    }, {
      ...(expected as SocketEvent),
      remote: { process: { pid: 77, path: '/srv/api' }, parent: { pid: 1 }, container: { id: 'abc123', name: 'db' } },
      extra: { CUSTOM_TAG: 'blue', CUSTOM_COUNT: 5, CUSTOM_NESTED: { a: [1, 'b'] } },
    });
  }
  add('numeric field ids (IANA)', 'flow', {
    timestamp: '1716912348.000900', '82': 'eth0', '60': 4, UDP_EVENT_TYPE: 'SEND', '8': '8.8.8.8', '12': '192.168.1.10', '4': 17, '7': 53, '11': 38211,
  }, expectedEvent('ebpflowexport-udp-recv'));
  add('deviceIP as a dotted string', 'counter', { ...fixture('counters-veth'), deviceIP: '192.168.2.131' }, expectedEvent('counters-veth'));
  add('listening ports over IPv6', 'listening-ports', {
    'listening-ports': { tcp4: [], udp4: [], tcp6: [{ port: 443, proc: 'nginx' }], udp6: [{ port: 5353 }] },
    'ip-addresses': ['2001:DB8:0:0:0:0:0:1'],
  }, { kind: 'listening-ports', addresses: ['2001:db8::1'], ports: [{ protocol: 'tcp', ipVersion: 6, port: 443, process: 'nginx' }, { protocol: 'udp', ipVersion: 6, port: 5353 }] });
  // JSON drops undefined values; so must the TLV twin.
  for (const c of cases) c.record = JSON.parse(JSON.stringify(c.record)) as Record<string, unknown>;
  return cases;
}

/** Every fixture as published, then every variant. */
export function allCases(): Case[] {
  return [
    ...ALL_FIXTURES.map((name) => ({ name, topic: topicOf(name), record: fixture(name), expected: expectedEvent(name) })),
    ...variantCases(),
  ];
}
