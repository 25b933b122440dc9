// An interface's page as a person reads it, in a real headless Chromium: the ZMQ
// interface's state, its exporters, the hosts' interface counters with rates, and
// their listening ports; a packet interface's capture counters; flows one click away.
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { browserRig } from '../support/browser-rig.ts';
import { fixture } from '../support/fixtures.ts';
import { waitFor } from '../support/wait.ts';

const rig = browserRig(16570, { width: 1600, height: 900 });
const ZMQ = rig.zmq;


it('shows a ZMQ interface\'s state, host interface counters with rates, and listening ports', async () => {
  const zmq = rig.fb.registry.zmqInterfaces()[0];
  await rig.producer.send('counter', fixture('counters-veth'));
  await waitFor(() => zmq.hostCounters.list()[0]?.reports === 1, 'the first report');
  await new Promise((r) => setTimeout(r, 100));
  await rig.producer.send('counter', { ...fixture('counters-veth'), ifInOctets: 123456789 + 10_000 });
  await rig.producer.send('listening-ports', fixture('listening-ports'));
  await rig.producer.send('flow', fixture('ebpflowexport-connect-failed'));
  await waitFor(() => zmq.hostCounters.list()[0]?.reports === 2 && zmq.listeningPorts.list().length === 1 && zmq.flows.stats().active === 1, 'the reports');
  // The collector thread reports its counters on its own clock: wait until they count the four events too.
  await waitFor(() => Object.values(zmq.collectorStats().events).reduce((n, v) => n + v, 0) >= 4, 'the collector\'s counters');

  await rig.page.goto(rig.fb.url);
  await rig.page.getByRole('link', { name: ZMQ }).click();
  expect(await rig.page.locator('#state').innerText()).toBe('State: running');
  expect(await rig.page.locator('#collector').innerText()).toMatch(/1 exporter seen in the last 10 s, 4 events accepted/);
  // How they were read: the socket events by the native scanner.
  expect(await rig.page.locator('#decoding').innerText()).toMatch(/Socket payloads: [1-9][0-9]* records read by the native JSON scanner/);

  const host = rig.page.locator('#host-interfaces tbody tr', { hasText: 'veth1a2b3c' });
  const cells = await host.locator('td').allInnerTexts();
  // Host, interface, oper, in bytes/packets/errors/drops, out ..., in per second bytes/packets, out ..., resets, last report
  expect(cells.slice(0, 11)).toEqual(['192.168.2.131', 'veth1a2b3c', 'up', '123,466,789', '98,765', '0', '—', '2,345,678', '4,567', '0', '—']);
  const inBytesPerSecond = Number(cells[11].replace(/,/g, ''));
  expect(inBytesPerSecond).toBeGreaterThan(0);
  expect(inBytesPerSecond).toBeLessThanOrEqual(10_000 / 0.1); // 10 000 bytes over at least 100 ms
  expect(cells[13]).toBe('0'); // out bytes per second: nothing moved

  const ports = await rig.page.locator('#listening-ports tbody tr').allInnerTexts();
  expect(ports.map((r) => r.split('\t'))).toEqual([
    ['host-a', 'sshd', 'tcp4', '22', 'openssh-server', '192.168.1.10'],
    ['host-a', 'systemd-resolved', 'udp4', '53', 'systemd', '192.168.1.10'],
  ]);
  expect(await rig.page.locator('#tables tbody tr', { hasText: 'host-interfaces' }).innerText()).toMatch(/host-interfaces\s+1\s+4,096\s+0/);
  await rig.page.screenshot({ path: join(rig.dir, 'zmq-interface.png'), fullPage: true });

  await rig.page.getByRole('link', { name: '1 flow', exact: true }).click();
  expect(await rig.page.locator('#flows tr').count()).toBe(1);
}, 60_000);

it('shows a packet interface\'s capture counters instead of the ZMQ tables', async () => {
  await rig.page.goto(`${rig.fb.url}/interfaces/1`);
  const capture = await rig.page.locator('#capture table').first().locator('td').allInnerTexts();
  expect(capture[0]).toBe('2');
  expect(await rig.page.locator('#host-interfaces').count()).toBe(0);
  expect(await rig.page.locator('#capture').innerText()).toContain('No capture errors.');
});

it('shows rejections by topic and the collector\'s bounded tables on the Exporters page', async () => {
  await rig.producer.send('counter', { ...fixture('counters-veth'), ifIndex: -1 });
  await waitFor(async () => rig.fb.registry.zmqInterfaces()[0].collectorStats().rejectedByTopic.counter?.schema === 1, 'the rejection');
  await rig.page.goto(`${rig.fb.url}/exporters`);
  expect((await rig.page.locator('#rejected tbody tr').allInnerTexts()).map((r) => r.split('\t'))).toEqual([[ZMQ, 'counter', 'schema', '1']]);
  expect(await rig.page.locator('#collector-tables tbody tr', { hasText: 'exporters' }).innerText()).toMatch(/exporters\s+1\s+4,096\s+0/);
});
