// A real Prometheus scrapes /metrics, and a merged per-process metric and a host's
// interface counter are read back through its query API; promtool accepts the metric text.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fixture } from '../support/fixtures.ts';
import { connectProducer, startWithFlags } from '../support/flowbridge.ts';
import { frame, writePcap } from '../support/packets.ts';
import type { Producer } from '../support/producer.ts';
import { startPrometheus, type PrometheusServer } from '../support/prometheus.ts';
import { waitFor } from '../support/wait.ts';

const pcapFile = join(mkdtempSync(join(tmpdir(), 'fb-promtest-')), 'mirror.pcap');
let fb: Awaited<ReturnType<typeof startWithFlags>>;
let producer: Producer;
let prometheus: PrometheusServer;

beforeAll(async () => {
  writePcap(pcapFile, [
    frame({ src: '172.17.0.2', dst: '93.184.216.34', protocol: 'tcp', sport: 54348, dport: 443, flags: 'S' }),
    frame({ src: '172.17.0.2', dst: '93.184.216.34', protocol: 'tcp', sport: 54348, dport: 443, flags: 'A', payload: 946 }),
  ]);
  fb = await startWithFlags(['-i', 'tcp://127.0.0.1:16510c', '-i', `pcap:${pcapFile}`, '--mirrored', `pcap:${pcapFile}`, '--companion', `tcp://127.0.0.1:16510c=pcap:${pcapFile}`]);
  producer = await connectProducer(fb, 'tcp://127.0.0.1:16510');
  await producer.send('flow', fixture('ebpflowexport-connect-docker'));
  await producer.send('counter', { ...fixture('counters-veth'), ifInDiscards: 3, ifOutDiscards: 0 });
  await waitFor(() => fb.registry.packetInterfaces()[0].flows.processTraffic().length > 0, 'the merged flow');
  await waitFor(() => fb.registry.zmqInterfaces()[0].hostCounters.list().length > 0, 'the host interface counters');
  prometheus = await startPrometheus(new URL(fb.url).host, 16590);
}, 60_000);
afterAll(async () => {
  await prometheus?.stop();
  producer?.close();
  await fb?.stop();
});

it('serves metric text that promtool accepts, host interface counters and table bounds included', async () => {
  const text = await (await fetch(`${fb.url}/metrics`)).text();
  for (const name of ['bytes', 'packets', 'errors', 'drops']) expect(text).toContain(`# TYPE flowbridge_host_interface_${name}_total counter`);
  expect(text).toMatch(/^flowbridge_host_interface_drops_total\{.*direction="in"\} 3$/m);
  expect(text).toContain('# TYPE flowbridge_table_drops_total counter');
  // promtool exits non-zero on format errors and lists lint problems on stdout.
  const out = execFileSync('promtool', ['check', 'metrics'], { input: text }).toString();
  expect(out.trim()).toBe('');
});

it('lets Prometheus read the merged bytes of a process back', async () => {
  const result = await waitFor(async () => {
    const r = await prometheus.query(`flowbridge_process_flow_bytes{process="curl",interface="pcap:${pcapFile}"}`);
    return r.length > 0 ? r : undefined;
  }, 'prometheus to scrape the merged metric', 30_000, 500);
  expect(Number(result[0].value[1])).toBe(54 + 54 + 946);
  const up = await prometheus.query('up{job="flowbridge"}');
  expect(up[0].value[1]).toBe('1');
}, 40_000);

it('lets Prometheus read a host interface counter back by host, interface name and direction', async () => {
  const result = await waitFor(async () => {
    const r = await prometheus.query('flowbridge_host_interface_bytes_total{host="192.168.2.131",if_name="veth1a2b3c",direction="in"}');
    return r.length > 0 ? r : undefined;
  }, 'prometheus to scrape the host interface counter', 30_000, 500);
  expect(result[0].metric.interface).toBe('tcp://127.0.0.1:16510c');
  expect(Number(result[0].value[1])).toBe(123456789);
}, 40_000);
