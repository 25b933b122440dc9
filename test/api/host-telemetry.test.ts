// What the exporter hosts say about themselves, over real ZMQ and real HTTP: their
// interface counters (with rates between reports, and a counter reset that is not
// negative traffic), their listening ports, and the /metrics series of both. And an
// interface shows only its own problems: eth1 never shows eth10's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostInterfaceCounters, HostListeningPorts, Problem } from '../../src/model/telemetry.ts';
import { fixture } from '../support/fixtures.ts';
import { connectProducer, startWithFlags } from '../support/flowbridge.ts';
import type { Producer } from '../support/producer.ts';
import { waitFor } from '../support/wait.ts';

const ZMQ = 'tcp://127.0.0.1:16560c';
let fb: Awaited<ReturnType<typeof startWithFlags>>;
let producer: Producer;

const json = async <T>(path: string) => (await fb.api(path)).json() as Promise<T>;
const hostInterfaces = () => json<{ hostInterfaces: HostInterfaceCounters[]; table: { size: number; max: number; dropped: number } }>('/api/v1/interfaces/0/host-interfaces');
const veth = async () => (await hostInterfaces()).hostInterfaces.find((h) => h.ifName === 'veth1a2b3c');
/** Sends a counters report of the fixture's interface and waits until it has been taken. */
async function report(counters: Record<string, number>): Promise<HostInterfaceCounters> {
  const before = (await veth())?.reports ?? 0;
  await producer.send('counter', { ...fixture('counters-veth'), ...counters });
  return waitFor(async () => {
    const row = await veth();
    return row && row.reports > before ? row : undefined;
  }, 'the counters report');
}

beforeAll(async () => {
  // fbeth1 and fbeth10 cannot be opened: each has a problem of its own.
  fb = await startWithFlags(['-i', ZMQ, '-i', 'fbeth1', '-i', 'fbeth10', '--mirrored', 'fbeth10', '--companion', `${ZMQ}=fbeth10`]);
  producer = await connectProducer(fb, 'tcp://127.0.0.1:16560');
});
afterAll(async () => {
  producer?.close();
  await fb?.stop();
});

describe('host interfaces', () => {
  it('shows the latest counters, rates between two reports, and a reset as a reset', async () => {
    const first = await report({});
    expect(first).toMatchObject({
      host: '192.168.2.131', ifName: 'veth1a2b3c', ifIndex: 3, operUp: true, speed: 10000, container: { id: 'cbd2540ec5be', name: 'web' },
      in: { bytes: 123456789, packets: 98765, errors: 0 }, out: { bytes: 2345678, packets: 4567, errors: 0 },
      rates: null, reports: 1, resets: 0,
    });
    expect(first.in.drops).toBeUndefined(); // the fixture's host does not report discards

    await new Promise((r) => setTimeout(r, 200)); // a real interval between reports
    const second = await report({ ifInOctets: 123456789 + 50_000, ifInPackets: 98765 + 100, ifOutOctets: 2345678 + 8_000, ifOutPackets: 4567 + 40, ifInErrors: 2 });
    const r = second.rates!;
    expect(r.intervalSeconds).toBeGreaterThanOrEqual(0.2);
    expect(r.in.bytes * r.intervalSeconds).toBeCloseTo(50_000, 3);
    expect(r.in.packets * r.intervalSeconds).toBeCloseTo(100, 6);
    expect(r.out.bytes * r.intervalSeconds).toBeCloseTo(8_000, 3);
    expect(r.out.packets * r.intervalSeconds).toBeCloseTo(40, 6);
    expect(r.in.errors * r.intervalSeconds).toBeCloseTo(2, 6);
    expect(second).toMatchObject({ in: { bytes: 123506789, errors: 2 }, reports: 2, resets: 0 });

    // The host's counters restart (reboot, recreated veth): counted from zero, never negative.
    await new Promise((r) => setTimeout(r, 50));
    const third = await report({ ifInOctets: 3_000, ifInPackets: 30, ifInErrors: 0, ifOutOctets: 1_000, ifOutPackets: 10 });
    expect(third).toMatchObject({ in: { bytes: 3_000 }, reports: 3, resets: 1 });
    expect(third.rates!.in.bytes * third.rates!.intervalSeconds).toBeCloseTo(3_000, 3);
    expect(third.rates!.out.bytes).toBeGreaterThan(0);
    for (const d of [third.rates!.in, third.rates!.out]) for (const v of Object.values(d)) expect(v).toBeGreaterThanOrEqual(0);
  });

  it('shows drops when the host reports discards, each host and interface on its own row, and the table bound', async () => {
    await producer.send('counter', { ...fixture('counters-veth'), deviceIP: '10.1.2.3', ifIndex: 1, ifName: 'eth0', ifInDiscards: 5, ifOutDiscards: 7 });
    const view = await waitFor(async () => {
      const v = await hostInterfaces();
      return v.hostInterfaces.some((h) => h.host === '10.1.2.3') ? v : undefined;
    }, 'the second host');
    expect(view.hostInterfaces.map((h) => [h.host, h.ifName])).toEqual([['10.1.2.3', 'eth0'], ['192.168.2.131', 'veth1a2b3c']]);
    expect(view.hostInterfaces[0]).toMatchObject({ in: { drops: 5 }, out: { drops: 7 } });
    expect(view.table).toEqual({ size: 2, max: 4096, dropped: 0 });
  });

  it('shows a packet interface the hosts\' counters of its own name only (dispatch rule 5); listening ports are a ZMQ interface\'s view', async () => {
    await producer.send('counter', { ...fixture('counters-veth'), deviceIP: '10.9.9.9', ifIndex: 4, ifName: 'fbeth1' });
    const own = await waitFor(async () => {
      const v = await json<{ hostInterfaces: HostInterfaceCounters[]; table: { size: number; max: number } }>('/api/v1/interfaces/fbeth1/host-interfaces');
      return v.hostInterfaces.length ? v : undefined;
    }, 'fbeth1\'s counters');
    expect(own.hostInterfaces.map((h) => [h.host, h.ifName])).toEqual([['10.9.9.9', 'fbeth1']]);
    expect(own.table).toMatchObject({ size: 1, max: 4096 });
    expect((await json<{ hostInterfaces: HostInterfaceCounters[] }>('/api/v1/interfaces/fbeth10/host-interfaces')).hostInterfaces).toEqual([]);
    const r = await fb.api('/api/v1/interfaces/fbeth1/listening-ports');
    expect(r.status).toBe(400);
    expect((await r.json()).error).toMatch(new RegExp(`fbeth1 is a packet interface: .* come from the exporters of a ZMQ interface \\(${ZMQ.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\)`));
    expect((await fb.api('/api/v1/interfaces/eth77/host-interfaces')).status).toBe(404);
  });
});

describe('listening ports', () => {
  it('shows each host\'s announced listening ports, with process and package', async () => {
    await producer.send('listening-ports', fixture('listening-ports'));
    const view = await waitFor(async () => {
      const v = await json<{ hosts: HostListeningPorts[]; tables: Record<string, { size: number; max: number; dropped: number }> }>('/api/v1/interfaces/0/listening-ports');
      return v.hosts.length ? v : undefined;
    }, 'the listening ports');
    expect(view.hosts).toEqual([{
      host: 'host-a', addresses: ['192.168.1.10'], portsDropped: 0, lastReport: expect.any(Number),
      ports: [
        { protocol: 'tcp', ipVersion: 4, port: 22, process: 'sshd', package: 'openssh-server' },
        { protocol: 'udp', ipVersion: 4, port: 53, process: 'systemd-resolved', package: 'systemd' },
      ],
    }]);
    expect(view.tables).toEqual({ hosts: { size: 1, max: 1024, dropped: 0 }, portsPerHost: { size: 2, max: 1024, dropped: 0 } });

    // A new announcement replaces the host's previous one.
    await producer.send('listening-ports', { ...fixture('listening-ports'), 'listening-ports': { tcp4: [{ port: 443, proc: 'nginx' }] } });
    const replaced = await waitFor(async () => {
      const [h] = (await json<{ hosts: HostListeningPorts[] }>('/api/v1/interfaces/0/listening-ports')).hosts;
      return h.ports.length === 1 ? h : undefined;
    }, 'the new announcement');
    expect(replaced.ports).toEqual([{ protocol: 'tcp', ipVersion: 4, port: 443, process: 'nginx' }]);
  });
});

describe('/metrics', () => {
  it('has the host interface counters per direction, and the size, bound and drops of every table', async () => {
    await waitFor(async () => (await hostInterfaces()).table.size === 3, 'the three host interfaces');
    const text = await (await fb.api('/metrics')).text();
    const labels = (host: string, ifName: string, direction: string) => `{interface="${ZMQ}",host="${host}",if_name="${ifName}",direction="${direction}"}`;
    const row = (await veth())!;
    expect(text).toContain(`flowbridge_host_interface_bytes_total${labels('192.168.2.131', 'veth1a2b3c', 'in')} ${row.in.bytes}`);
    expect(text).toContain(`flowbridge_host_interface_packets_total${labels('192.168.2.131', 'veth1a2b3c', 'out')} ${row.out.packets}`);
    expect(text).toContain(`flowbridge_host_interface_errors_total${labels('10.1.2.3', 'eth0', 'in')} 0`);
    expect(text).toContain(`flowbridge_host_interface_drops_total${labels('10.1.2.3', 'eth0', 'out')} 7`);
    // No drops series for a host that does not report them: no invented zeros.
    expect(text).not.toContain(`flowbridge_host_interface_drops_total${labels('192.168.2.131', 'veth1a2b3c', 'in')}`);
    expect(text).toContain(`flowbridge_table_entries{interface="${ZMQ}",table="host-interfaces"} 3`);
    expect(text).toContain('flowbridge_table_entries{interface="fbeth1",table="host-interfaces"} 1');
    expect(text).toContain(`flowbridge_host_interface_bytes_total{interface="fbeth1",host="10.9.9.9",if_name="fbeth1",direction="in"}`);
    expect(text).toContain(`flowbridge_table_bound_entries{interface="${ZMQ}",table="host-interfaces"} 4096`);
    expect(text).toContain(`flowbridge_table_drops_total{interface="${ZMQ}",table="host-interfaces"} 0`);
    for (const table of ['exporters', 'learned-field-ids', 'handoff-batches', 'listening-port-hosts', 'listening-ports-per-host']) {
      expect(text).toContain(`flowbridge_table_bound_entries{interface="${ZMQ}",table="${table}"}`);
    }
  });
});

describe('problems', () => {
  it('an interface shows its own problems only: fbeth1 never shows fbeth10\'s', async () => {
    // fbeth10 stops being mirrored: the companion of the ZMQ interface no longer receives events.
    const r = await fb.api('/api/v1/interfaces/fbeth10', { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mirrored: false }) });
    expect(r.status).toBe(200);
    const problemsOf = async (name: string) => (await json<{ problems: string[] }>(`/api/v1/interfaces/${encodeURIComponent(name)}`)).problems;

    const eth1 = await problemsOf('fbeth1');
    expect(eth1).toEqual([expect.stringMatching(/^interface fbeth1: /)]);
    expect((await problemsOf('fbeth10'))).toEqual([expect.stringMatching(/^interface fbeth10: /)]);
    expect(await problemsOf(ZMQ)).toEqual([`companion fbeth10 of ${ZMQ} is not marked mirrored: no events are delivered to it until it is`]);

    // The same on the pages: fbeth1's page has its own problem and not one about fbeth10.
    const page = await (await fb.api('/interfaces/1')).text();
    const shown = [...page.matchAll(/<div class="problem">(.*?)<\/div>/g)].map((m) => m[1]);
    expect(shown).toHaveLength(1);
    expect(shown[0]).toContain('interface fbeth1: ');
    expect(shown[0]).not.toContain('fbeth10');

    // /api/v1/status lists every problem, each naming the interface it is about.
    const { problems } = await json<{ problems: Problem[] }>('/api/v1/status');
    expect(problems).toEqual(expect.arrayContaining([
      { interfaceId: 1, text: expect.stringMatching(/^interface fbeth1: /) },
      { interfaceId: 2, text: expect.stringMatching(/^interface fbeth10: /) },
      { interfaceId: 0, text: expect.stringContaining('companion fbeth10') },
    ]));
  });
});
