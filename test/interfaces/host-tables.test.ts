// The bounds of what exporter hosts tell about themselves: the host interfaces table
// evicts the interface reported least recently, and a host announcing more listening
// ports than the per-host bound keeps the first ones; both say how much they dropped.
import { describe, expect, it } from 'vitest';
import { normaliseCounters, normaliseListeningPorts } from '../../src/collector/events/normalise.ts';
import { HostInterfaceTable } from '../../src/interfaces/host-interfaces.ts';
import { ListeningPortsTable } from '../../src/interfaces/listening-ports.ts';
import { fixture } from '../support/fixtures.ts';

const counters = (ifName: string, ifIndex: number, ifInOctets = 1000) => normaliseCounters({ ...fixture('counters-veth'), ifName, ifIndex, ifInOctets });

describe('host interfaces table', () => {
  it('evicts the interface reported least recently when full, and counts it', () => {
    const table = new HostInterfaceTable(2);
    table.set(counters('a', 1), 1_000);
    table.set(counters('b', 2), 1_000);
    table.set(counters('a', 1, 2000), 2_000); // a reports again: b is now the oldest
    table.set(counters('c', 3), 3_000);
    expect(table.list().map((h) => h.ifName)).toEqual(['a', 'c']);
    expect(table.stats()).toEqual({ size: 2, max: 2, dropped: 1 });
    expect(table.list()[0].rates!.in.bytes).toBe(1000); // 1000 bytes in 1 s
  });

  it('takes an interface recreated under the same name (new ifIndex) as a reset of it', () => {
    const table = new HostInterfaceTable();
    table.set(counters('veth0', 7, 5000), 1_000);
    table.set(counters('veth0', 9, 5000), 2_000);
    expect(table.list()).toEqual([expect.objectContaining({ ifName: 'veth0', ifIndex: 9, reports: 2, resets: 1 })]);
  });
});

describe('listening ports table', () => {
  it('keeps at most the per-host bound of ports, and the bounded number of hosts', () => {
    const table = new ListeningPortsTable(1, 1);
    table.set('host-a', normaliseListeningPorts(fixture('listening-ports')), 1_000); // 2 ports
    expect(table.list()).toEqual([expect.objectContaining({ host: 'host-a', ports: [expect.objectContaining({ port: 22 })], portsDropped: 1 })]);
    table.set('host-b', normaliseListeningPorts({ ...fixture('listening-ports'), 'instance-name': 'host-b' }), 2_000);
    expect(table.list().map((h) => h.host)).toEqual(['host-b']);
    expect(table.stats()).toEqual({ hosts: { size: 1, max: 1, dropped: 1 }, portsPerHost: { size: 1, max: 1, dropped: 2 } });
  });
});
