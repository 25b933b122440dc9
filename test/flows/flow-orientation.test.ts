// Who is the client: the TCP connecting side (SYN, else SYN+ACK), else for packets
// seen mid-connection and UDP the lower well-known port is the server, else the first
// sender is the client; an event's orientation wins over such a guess.
import { describe, expect, it } from 'vitest';
import { FlowTable } from '../../src/flows/flow-table.ts';
import { applyFrames, conversation } from '../capture/packets.ts';
import { socketEvent } from './socket-events.ts';

const only = (t: FlowTable) => {
  const { total, flows } = t.query({});
  expect(total).toBe(1);
  return flows[0];
};

describe('orientation from packets', () => {
  it('the SYN sender is the client, even from a well-known port to an ephemeral one', () => {
    const t = new FlowTable();
    applyFrames(t, conversation(['10.0.0.1', 80], ['10.0.0.2', 40000], ['S', 'SA', 'A']));
    expect(only(t)).toMatchObject({ client: { ip: '10.0.0.1', port: 80 }, server: { ip: '10.0.0.2', port: 40000 }, clientToServer: { packets: 2 } });
  });

  it('without the SYN, the SYN+ACK sender is the server', () => {
    const t = new FlowTable();
    // The SYN+ACK comes from port 5000, answering port 700: ports alone would say the opposite.
    applyFrames(t, [
      { src: '10.0.0.2', dst: '10.0.0.1', protocol: 'tcp', sport: 5000, dport: 700, flags: 'SA' },
      { src: '10.0.0.1', dst: '10.0.0.2', protocol: 'tcp', sport: 700, dport: 5000, flags: 'A' },
    ]);
    expect(only(t)).toMatchObject({ client: { port: 700 }, server: { port: 5000 } });
  });

  it('mid-connection, the lower well-known port is the server even when it spoke first', () => {
    const t = new FlowTable();
    applyFrames(t, [{ src: '10.0.0.2', dst: '10.0.0.1', protocol: 'tcp', sport: 443, dport: 50000, flags: 'A', payload: 100 }]);
    expect(only(t)).toMatchObject({ client: { ip: '10.0.0.1', port: 50000 }, server: { ip: '10.0.0.2', port: 443 }, serverToClient: { packets: 1 } });
  });

  it('a later SYN+ACK corrects a guess', () => {
    const t = new FlowTable();
    applyFrames(t, [{ src: '10.0.0.1', dst: '10.0.0.2', protocol: 'tcp', sport: 30000, dport: 31000, flags: 'A' }]);
    expect(only(t).client.port).toBe(30000); // first sender
    applyFrames(t, [{ src: '10.0.0.1', dst: '10.0.0.2', protocol: 'tcp', sport: 30000, dport: 31000, flags: 'SA' }]);
    expect(only(t)).toMatchObject({ client: { port: 31000 }, server: { port: 30000 }, packets: 2 });
  });

  it('UDP: a well-known port is the server; between two unknown ports the first sender is the client', () => {
    const dns = new FlowTable();
    applyFrames(dns, [{ src: '10.0.0.53', dst: '10.0.0.9', protocol: 'udp', sport: 53, dport: 40001, payload: 80 }]);
    expect(only(dns)).toMatchObject({ protocolName: 'UDP', client: { port: 40001 }, server: { ip: '10.0.0.53', port: 53 } });

    const app = new FlowTable();
    applyFrames(app, [
      { src: '10.0.0.8', dst: '10.0.0.9', protocol: 'udp', sport: 16020, dport: 40001, payload: 10 },
      { src: '10.0.0.9', dst: '10.0.0.8', protocol: 'udp', sport: 40001, dport: 16020, payload: 10 },
    ]);
    expect(only(app)).toMatchObject({ client: { ip: '10.0.0.8', port: 16020 }, server: { port: 40001 }, clientToServer: { packets: 1 }, serverToClient: { packets: 1 } });

    const ntp = new FlowTable(); // same well-known port on both ends: the first sender
    applyFrames(ntp, [{ src: '10.0.0.9', dst: '10.0.0.123', protocol: 'udp', sport: 123, dport: 123 }]);
    expect(only(ntp).client.ip).toBe('10.0.0.9');
  });

  it('ICMP between two hosts is one flow; the first sender is the client', () => {
    const t = new FlowTable();
    applyFrames(t, [
      { src: '10.0.0.1', dst: '10.0.0.2', protocol: 'icmp' },
      { src: '10.0.0.2', dst: '10.0.0.1', protocol: 'icmp' },
    ]);
    expect(only(t)).toMatchObject({ protocol: 1, protocolName: 'ICMP', client: { ip: '10.0.0.1', port: 0 }, packets: 2 });
  });
});

describe('orientation from events', () => {
  const client: [string, number] = ['10.0.0.1', 41000];
  const server: [string, number] = ['10.0.0.2', 42000];

  it("an event's orientation wins over a guess from packets, and packets do not undo it", () => {
    const t = new FlowTable();
    // Seen mid-connection, server first: the guess makes the server the client.
    applyFrames(t, [{ src: server[0], dst: client[0], protocol: 'tcp', sport: server[1], dport: client[1], flags: 'A', payload: 10 }]);
    expect(only(t).client.port).toBe(42000);
    t.applyEvent(socketEvent({ client, server, eventType: 'CONNECT', pid: 7, path: '/usr/bin/app' }), 'z');
    applyFrames(t, [{ src: server[0], dst: client[0], protocol: 'tcp', sport: server[1], dport: client[1], flags: 'A', payload: 10 }]);
    expect(only(t)).toMatchObject({ client: { port: 41000 }, server: { port: 42000 }, serverToClient: { packets: 2 }, process: { pid: 7 }, processSide: 'client' });
  });

  it('ACCEPT and CONNECT of one connection agree: the connecting side is the client, each end keeps its process', () => {
    const t = new FlowTable();
    t.applyEvent(socketEvent({ client, server, eventType: 'ACCEPT', localSide: 'server', pid: 2, path: '/usr/sbin/postgres' }), 'z');
    expect(only(t)).toMatchObject({ client: { port: 41000 }, process: { pid: 2 }, processSide: 'server', seenBy: ['events'] });
    t.applyEvent(socketEvent({ client, server, eventType: 'CONNECT', localSide: 'client', pid: 1, path: '/usr/bin/psql' }), 'z');
    const flow = only(t);
    expect(flow).toMatchObject({ client: { port: 41000 }, process: { pid: 1 }, processSide: 'client', lastEvent: 'CONNECT' });
    expect(flow.sides?.server?.process?.pid).toBe(2);
    expect(flow.recentEvents.map((e) => e.eventType)).toEqual(['ACCEPT', 'CONNECT']);
  });

  it('attaches the REMOTE side too when the event carries it', () => {
    const t = new FlowTable();
    t.applyEvent(socketEvent({ client, server, eventType: 'CONNECT', pid: 1, path: '/usr/bin/curl', remote: { process: { pid: 9, path: '/usr/sbin/nginx' }, container: { runtime: 'docker', name: 'web' } } }), 'z');
    expect(only(t).sides).toEqual({ client: { process: { pid: 1, path: '/usr/bin/curl' } }, server: { process: { pid: 9, path: '/usr/sbin/nginx' }, container: { runtime: 'docker', name: 'web' } } });
  });
});
