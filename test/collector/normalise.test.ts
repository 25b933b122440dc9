// Every real producer payload of test/fixtures, normalised field by field.
import { describe, expect, it } from 'vitest';
import { normaliseCounters, normaliseListeningPorts, normaliseSocketEvent } from '../../src/collector/events/normalise.ts';
import { compileValidators } from '../../src/collector/events/validate.ts';
import { fixture } from '../support/fixtures.ts';

const validators = compileValidators();

describe('flow events', () => {
  it('ebpflowexport CONNECT in a Docker container: SRC is the local client', () => {
    const e = normaliseSocketEvent(fixture('ebpflowexport-connect-docker'));
    expect(e).toEqual({
      kind: 'flow', timestamp: 1716912345.123456, ifName: 'eth0', ipVersion: 4, protocol: 6, eventType: 'CONNECT',
      client: { ip: '172.17.0.2', port: 54348 }, server: { ip: '93.184.216.34', port: 443 }, localSide: 'client',
      latencyMs: 0.221,
      local: {
        process: { pid: 30197, tid: 30197, uid: 0, gid: 0, group: 'root', path: '/usr/bin/curl', cmdline: 'https://example.com' },
        parent: { pid: 26219, tid: 0, uid: 0, gid: 0, group: 'root', path: '/bin/bash', cmdline: '' },
        container: { runtime: 'docker', id: 'cbd2540ec5be8b1c46d0f5a37d2f4c0e9a86f2b3d9c4a1e7b6f5d4c3', name: 'sleepy_haibt' },
      },
      remote: {},
    });
  });

  it('ebpflowexport ACCEPT: SRC is the remote client, the local process is the server', () => {
    const e = normaliseSocketEvent(fixture('ebpflowexport-accept'));
    expect(e).toMatchObject({ eventType: 'ACCEPT', client: { ip: '192.168.1.50', port: 51822 }, server: { ip: '192.168.1.10', port: 22 }, localSide: 'server', ifName: 'ens3' });
    expect(e.local.process).toMatchObject({ pid: 812, path: '/usr/sbin/sshd', cmdline: '-D' });
    expect(e.local.parent).toMatchObject({ pid: 1, user: 'daemon', path: '/usr/lib/systemd/systemd' });
  });

  it('keeps PID and TID as libebpfflow sent them (no corrections)', () => {
    const e = normaliseSocketEvent({ ...fixture('ebpflowexport-connect-docker'), LOCAL_PROCESS: { PID: 7, TID: 9, PROCESS_PATH: '/x' } });
    expect(e.local.process).toEqual({ pid: 7, tid: 9, path: '/x' });
  });

  it('CONNECT_FAILED and RETRANSMIT (kernel context, no process)', () => {
    expect(normaliseSocketEvent(fixture('ebpflowexport-connect-failed'))).toMatchObject({ eventType: 'CONNECT_FAILED', client: { ip: '10.0.0.5', port: 40100 }, server: { port: 8080 }, local: { process: { pid: 5120, path: '/usr/bin/python3.11' } } });
    const r = normaliseSocketEvent(fixture('ebpflowexport-retransmit'));
    expect(r).toMatchObject({ eventType: 'RETRANSMIT', retransmittedPackets: 1, client: { ip: '10.0.0.5', port: 40022 }, server: { ip: '10.0.0.9', port: 5432 }, local: {} });
  });

  it('UDP received packets labelled SEND: the local host is DST, the DNS server is the server', () => {
    const e = normaliseSocketEvent(fixture('ebpflowexport-udp-recv'));
    expect(e).toMatchObject({ protocol: 17, eventType: 'SEND', client: { ip: '192.168.1.10', port: 38211 }, server: { ip: '8.8.8.8', port: 53 }, localSide: 'client' });
  });

  it('UDP over IPv6 from a Kubernetes pod, addresses canonical', () => {
    const e = normaliseSocketEvent({ ...fixture('ebpflowexport-udp-send-ipv6-k8s'), IPV6_DST_ADDR: 'fd00:10:96:0:0:0:0:a' });
    expect(e).toMatchObject({ ipVersion: 6, ifName: 'cni0', client: { ip: 'fd00:10:244::7', port: 43211 }, server: { ip: 'fd00:10:96::a', port: 53 } });
    expect(e.local.container).toEqual({ runtime: 'k8s', id: '275d71585e03a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071829', name: 'coredns', pod: 'coredns-5d78c9869d-x7k2p', namespace: 'kube-system' });
  });

  it('nprobe_mini LOCAL/REMOTE naming and IF_NAME, extra keys kept', () => {
    const e = normaliseSocketEvent(fixture('nprobe-mini-connect'));
    expect(e).toMatchObject({
      ifName: 'cbr0', timestamp: 1557135868.956831, tid: 0, exporterIp: '192.168.2.131', latencyMs: 0.177,
      client: { ip: '10.1.1.1', port: 58916 }, server: { ip: '10.1.1.13', port: 10054 }, localSide: 'client',
      local: { process: { pid: 29730, path: '/snap/microk8s/522/kubelet' }, parent: { pid: 1, user: 'daemon' } },
    });
    expect(normaliseSocketEvent({ ...fixture('nprobe-mini-connect'), CUSTOM_TAG: 'x' }).extra).toEqual({ CUSTOM_TAG: 'x' });
    expect(normaliseSocketEvent({ ...fixture('nprobe-mini-connect'), TCP_EVENT_TYPE: 'ACCEPT' })).toMatchObject({ client: { ip: '10.1.1.13' }, localSide: 'server' });
  });

  it('netstat snapshots: kind netstat, TCP block, orientation by the service port', () => {
    const e = normaliseSocketEvent(fixture('netstat-established'));
    expect(e).toMatchObject({
      kind: 'netstat', client: { ip: '192.168.2.131', port: 41234 }, server: { ip: '151.101.1.69', port: 443 },
      local: { process: { pid: 2210, user: 'alice', vmSizeKb: 2841232, vmPeakKb: 2901000 } },
      tcp: { state: 'ESTABLISHED', segsIn: 812, segsOut: 640, unackSegments: 0, retransmittedPackets: 2, lostPackets: 0, rttMs: 21.5, rttVarianceMs: 3.2, bytesReceived: 1048576, bytesAcked: 65536 },
    });
    const listen = normaliseSocketEvent({ ...fixture('netstat-established'), L4_LOCAL_PORT: 5000, L4_REMOTE_PORT: 0, TCP: { CONN_STATE: 'LISTEN' } });
    expect(listen).toMatchObject({ server: { port: 5000 }, localSide: 'server' });
  });

  it('accepts a numeric timestamp', () => {
    expect(normaliseSocketEvent({ ...fixture('ebpflowexport-accept'), timestamp: 1716912346.5 }).timestamp).toBe(1716912346.5);
  });
});

describe('counters and listening ports', () => {
  it('counters: deviceIP as u32 or dotted, container kept', () => {
    const c = normaliseCounters(fixture('counters-veth'));
    expect(c).toEqual({
      kind: 'counters', deviceIp: '192.168.2.131', ifIndex: 3, ifName: 'veth1a2b3c', ifType: 6, ifSpeed: 10000, ifDirection: 'Full',
      adminUp: true, operUp: true, promiscuous: false, inOctets: 123456789, inPackets: 98765, inErrors: 0,
      outOctets: 2345678, outPackets: 4567, outErrors: 0, container: { runtime: 'docker', id: 'cbd2540ec5be', name: 'web' },
    });
    expect(normaliseCounters({ ...fixture('counters-veth'), deviceIP: '10.0.0.1' }).deviceIp).toBe('10.0.0.1');
  });

  it('listening ports per family', () => {
    expect(normaliseListeningPorts(fixture('listening-ports'))).toEqual({
      kind: 'listening-ports', instanceName: 'host-a', addresses: ['192.168.1.10'],
      ports: [
        { protocol: 'tcp', ipVersion: 4, port: 22, process: 'sshd', package: 'openssh-server' },
        { protocol: 'udp', ipVersion: 4, port: 53, process: 'systemd-resolved', package: 'systemd' },
      ],
    });
  });
});

describe('schemas', () => {
  it('accept every fixture', () => {
    for (const name of ['ebpflowexport-accept', 'ebpflowexport-connect-docker', 'ebpflowexport-connect-failed', 'ebpflowexport-retransmit', 'ebpflowexport-udp-recv', 'ebpflowexport-udp-send-ipv6-k8s', 'netstat-established', 'nprobe-mini-connect']) {
      expect(validators['socket-event'](fixture(name)), name).toBe(true);
    }
    expect(validators['counters-event'](fixture('counters-veth'))).toBe(true);
    expect(validators['listening-ports'](fixture('listening-ports'))).toBe(true);
  });

  it('reject wrong types in known fields and events without endpoints', () => {
    const v = validators['socket-event'];
    for (const bad of [
      { L4_SRC_PORT: '54348' }, { L4_SRC_PORT: 70000 }, { PROTOCOL: 1 }, { IPV4_SRC_ADDR: '999.1.1.1' }, { TCP_EVENT_TYPE: 'OPEN' },
      { LOCAL_PROCESS: { UID: 0 } }, { LOCAL_PROCESS: { PID: -1 } }, { timestamp: 'yesterday' }, { IPV4_DST_ADDR: undefined },
    ]) {
      expect(v({ ...fixture('ebpflowexport-connect-docker'), ...bad }), JSON.stringify(bad)).toBe(false);
    }
    expect(validators['counters-event']({ ...fixture('counters-veth'), ifInOctets: -5 })).toBe(false);
  });
});
