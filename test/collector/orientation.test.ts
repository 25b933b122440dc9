// Which side is the client, and which is the local host, when no TCP event type says
// so: netstat snapshots and UDP, in both naming families (reference/events.md).
import { describe, expect, it } from 'vitest';
import { normaliseSocketEvent } from '../../src/collector/events/normalise.ts';

const udp = (o: Record<string, unknown>) => ({ timestamp: '1716912348.000100', IP_PROTOCOL_VERSION: 4, PROTOCOL: 17, UDP_EVENT_TYPE: 'SEND', ...o });
const srcDst = (src: [string, number], dst: [string, number]) => ({ IPV4_SRC_ADDR: src[0], L4_SRC_PORT: src[1], IPV4_DST_ADDR: dst[0], L4_DST_PORT: dst[1] });
const localRemote = (local: [string, number], remote: [string, number]) => ({ IPV4_LOCAL_ADDR: local[0], L4_LOCAL_PORT: local[1], IPV4_REMOTE_ADDR: remote[0], L4_REMOTE_PORT: remote[1] });
const PROCESS = { LOCAL_PROCESS: { PID: 42, PROCESS_PATH: '/usr/bin/app' } };
const netstat = (state: string, o: Record<string, unknown>) => ({ timestamp: 1557135870, IP_PROTOCOL_VERSION: 4, PROTOCOL: 6, TCP: { CONN_STATE: state }, ...o });

describe('UDP', () => {
  it('a well-known port is the server, whichever side sent', () => {
    // A DNS server answering: the local process sends from port 53.
    expect(normaliseSocketEvent(udp({ ...srcDst(['10.0.0.1', 53], ['10.0.0.2', 40000]), ...PROCESS }))).toMatchObject({
      client: { ip: '10.0.0.2', port: 40000 }, server: { ip: '10.0.0.1', port: 53 }, localSide: 'server',
    });
  });

  it('between two unprivileged ports the sender (SRC) is the client, as for packets', () => {
    expect(normaliseSocketEvent(udp({ ...srcDst(['10.0.0.1', 5000], ['10.0.0.2', 40000]), ...PROCESS }))).toMatchObject({
      client: { ip: '10.0.0.1', port: 5000 }, server: { ip: '10.0.0.2', port: 40000 }, localSide: 'client',
    });
    // Same port on both sides (NTP 123 <-> 123): still the sender.
    expect(normaliseSocketEvent(udp({ ...srcDst(['10.0.0.1', 123], ['10.0.0.2', 123]), ...PROCESS }))).toMatchObject({
      client: { ip: '10.0.0.1' }, localSide: 'client',
    });
  });

  it('a received packet (SEND without a local process): the local host is DST', () => {
    expect(normaliseSocketEvent(udp(srcDst(['10.0.0.2', 40000], ['10.0.0.1', 5000])))).toMatchObject({
      client: { ip: '10.0.0.2', port: 40000 }, server: { ip: '10.0.0.1', port: 5000 }, localSide: 'server',
    });
  });

  it('nprobe_mini naming: the well-known side is the server, else the local host sent it', () => {
    expect(normaliseSocketEvent(udp({ ...localRemote(['10.0.0.1', 53], ['10.0.0.2', 40000]), ...PROCESS }))).toMatchObject({ server: { port: 53 }, localSide: 'server' });
    expect(normaliseSocketEvent(udp({ ...localRemote(['10.0.0.1', 40000], ['10.0.0.2', 5000]), ...PROCESS }))).toMatchObject({ client: { port: 40000 }, localSide: 'client' });
  });
});

describe('netstat snapshots', () => {
  it('a LISTEN socket is the server, in both namings', () => {
    for (const naming of [srcDst(['10.0.0.1', 8080], ['0.0.0.0', 0]), localRemote(['10.0.0.1', 8080], ['0.0.0.0', 0])]) {
      expect(normaliseSocketEvent(netstat('LISTEN', { ...naming, ...PROCESS }))).toMatchObject({
        kind: 'netstat', server: { ip: '10.0.0.1', port: 8080 }, localSide: 'server', tcp: { state: 'LISTEN' },
      });
    }
  });

  it('otherwise the well-known or lower port is the service', () => {
    expect(normaliseSocketEvent(netstat('ESTABLISHED', srcDst(['10.0.0.1', 41234], ['10.0.0.2', 8443])))).toMatchObject({ server: { port: 8443 }, localSide: 'client' });
    expect(normaliseSocketEvent(netstat('ESTABLISHED', localRemote(['10.0.0.1', 22], ['10.0.0.2', 51000])))).toMatchObject({ server: { port: 22 }, localSide: 'server' });
    expect(normaliseSocketEvent(netstat('CLOSE-WAIT', localRemote(['10.0.0.1', 5432], ['10.0.0.2', 41000])))).toMatchObject({ server: { port: 5432 }, localSide: 'server' });
  });
});

describe('which addresses an event is about', () => {
  it('uses the naming family that is complete, and one IP version for both sides', () => {
    // SRC/DST addresses without ports, LOCAL/REMOTE complete: LOCAL/REMOTE it is.
    const nprobe = { ...localRemote(['10.1.1.1', 58916], ['10.1.1.13', 10054]), PROTOCOL: 6, TCP_EVENT_TYPE: 'CONNECT', IPV4_SRC_ADDR: '10.0.0.1', IPV4_DST_ADDR: '10.0.0.2' };
    expect(normaliseSocketEvent(nprobe)).toMatchObject({ client: { ip: '10.1.1.1', port: 58916 }, server: { ip: '10.1.1.13', port: 10054 } });
    // An IPv4 SRC beside a complete IPv6 pair: the IPv6 pair.
    const mixed = { PROTOCOL: 17, UDP_EVENT_TYPE: 'SEND', ...PROCESS, IPV4_SRC_ADDR: '10.0.0.1', IPV6_SRC_ADDR: 'fd00::1', IPV6_DST_ADDR: 'fd00::2', L4_SRC_PORT: 40000, L4_DST_PORT: 53 };
    expect(normaliseSocketEvent(mixed)).toMatchObject({ ipVersion: 6, client: { ip: 'fd00::1' }, server: { ip: 'fd00::2' } });
  });

  it('refuses an IP_PROTOCOL_VERSION its addresses contradict', () => {
    expect(() => normaliseSocketEvent(udp({ ...srcDst(['10.0.0.1', 40000], ['10.0.0.2', 53]), IP_PROTOCOL_VERSION: 6 }))).toThrow(/IP_PROTOCOL_VERSION 6 with IPv4 addresses/);
  });
});
