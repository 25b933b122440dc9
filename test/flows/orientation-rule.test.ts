// The one rule for "which side is the server when nothing else says" (src/model/orientation.ts),
// and proof that the collector (netstat and UDP events) and the flow table (packets
// alone) apply it alike: the same connection shows the same server either way.
import { describe, expect, it } from 'vitest';
import { normaliseSocketEvent } from '../../src/collector/events/normalise.ts';
import { FlowTable } from '../../src/flows/flow-table.ts';
import { serverByWellKnownPort } from '../../src/model/orientation.ts';
import { applyFrames } from '../capture/packets.ts';

describe('the well-known port rule', () => {
  it('one port well-known: that one is the server, on either end', () => {
    expect(serverByWellKnownPort(53, 40000)).toBe('a');
    expect(serverByWellKnownPort(51000, 22)).toBe('b');
    expect(serverByWellKnownPort(1023, 1024)).toBe('a');
  });

  it('both well-known and different: the lower port is the server (22 <-> 1023, rsh 514 <-> 1022)', () => {
    expect(serverByWellKnownPort(1023, 22)).toBe('b');
    expect(serverByWellKnownPort(514, 1022)).toBe('a');
  });

  it('neither well-known, or the same port on both ends: the ports do not say', () => {
    expect(serverByWellKnownPort(8443, 41234)).toBeUndefined();
    expect(serverByWellKnownPort(1024, 65535)).toBeUndefined();
    expect(serverByWellKnownPort(123, 123)).toBeUndefined();
    expect(serverByWellKnownPort(40000, 40000)).toBeUndefined();
  });
});

describe('an event and the packets of one connection agree on the server', () => {
  const LOCAL = '10.0.0.1';
  const REMOTE = '10.0.0.2';
  // [local port, remote port]: well-known against ephemeral both ways round, both
  // well-known both ways round (the case the two sides used to decide differently).
  const tuples: [number, number][] = [[22, 51000], [51000, 22], [22, 1023], [1023, 22], [514, 1022], [1022, 514]];

  /** Server port of a flow built only from one packet the local host sent mid-connection. */
  function serverFromPackets(protocol: 'tcp' | 'udp', localPort: number, remotePort: number): number {
    const t = new FlowTable();
    applyFrames(t, [{ src: LOCAL, dst: REMOTE, protocol, sport: localPort, dport: remotePort, flags: protocol === 'tcp' ? 'A' : undefined, payload: 10 }]);
    return t.query({}).flows[0].server.port;
  }

  it.each(tuples)('TCP netstat snapshot, local port %i, remote port %i', (localPort, remotePort) => {
    const event = normaliseSocketEvent({
      timestamp: 1557135870, IP_PROTOCOL_VERSION: 4, PROTOCOL: 6, TCP: { CONN_STATE: 'ESTABLISHED' },
      IPV4_LOCAL_ADDR: LOCAL, L4_LOCAL_PORT: localPort, IPV4_REMOTE_ADDR: REMOTE, L4_REMOTE_PORT: remotePort,
    });
    expect(event.kind).toBe('netstat');
    expect(event.server.port).toBe(Math.min(localPort, remotePort));
    expect(serverFromPackets('tcp', localPort, remotePort)).toBe(event.server.port);
  });

  it.each(tuples)('UDP sent by the local process, local port %i, remote port %i', (localPort, remotePort) => {
    const event = normaliseSocketEvent({
      timestamp: '1716912348.000100', IP_PROTOCOL_VERSION: 4, PROTOCOL: 17, UDP_EVENT_TYPE: 'SEND', LOCAL_PROCESS: { PID: 42, PROCESS_PATH: '/usr/bin/app' },
      IPV4_SRC_ADDR: LOCAL, L4_SRC_PORT: localPort, IPV4_DST_ADDR: REMOTE, L4_DST_PORT: remotePort,
    });
    expect(event.server.port).toBe(Math.min(localPort, remotePort));
    expect(serverFromPackets('udp', localPort, remotePort)).toBe(event.server.port);
  });

  it('and once the event arrives, the packet-only flow keeps its orientation', () => {
    const t = new FlowTable();
    applyFrames(t, [{ src: LOCAL, dst: REMOTE, protocol: 'udp', sport: 514, dport: 1022, payload: 10 }]);
    t.applyEvent(normaliseSocketEvent({
      timestamp: 1716912348, PROTOCOL: 17, UDP_EVENT_TYPE: 'SEND', LOCAL_PROCESS: { PID: 42, PROCESS_PATH: '/usr/sbin/rshd' },
      IPV4_SRC_ADDR: LOCAL, L4_SRC_PORT: 514, IPV4_DST_ADDR: REMOTE, L4_DST_PORT: 1022,
    }), 'z');
    const { total, flows } = t.query({});
    expect(total).toBe(1);
    expect(flows[0]).toMatchObject({ server: { port: 514 }, processSide: 'server', serverToClient: { packets: 1 }, seenBy: ['packets', 'events'] });
  });
});
