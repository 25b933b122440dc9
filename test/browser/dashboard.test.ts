// Issue 15's page test, in a real headless Chromium over real traffic on lo: the
// interface's dashboard draws its throughput chart from non-empty data (read back from
// the chart's data, not its pixels), redraws it without a reload when more traffic
// comes, and its top process opens on a page listing that process's flows.
import { connect, createServer, type Server } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FlowRecord } from '../../src/model/flow.ts';
import { launchChromium } from '../support/chromium.ts';
import { fixture } from '../support/fixtures.ts';
import { connectProducer, startWithFlags } from '../support/flowbridge.ts';
import { describeAsRoot } from '../support/privileges.ts';
import type { Producer } from '../support/producer.ts';
import { waitFor } from '../support/wait.ts';

const ZMQ_PORT = 18620;
const SERVICE_PORT = 18621;
let fb: Awaited<ReturnType<typeof startWithFlags>>;
let producer: Producer;
let browser: Browser;
let page: Page;
let server: Server;

/** One connection that fetches `size` bytes and closes; resolves with the client port. */
function exchange(size: number): Promise<number> {
  return new Promise<number>((resolve) => {
    const c = connect(SERVICE_PORT, '127.0.0.1', () => c.write(String(size)));
    c.on('data', () => {});
    c.on('end', () => {
      c.end();
      resolve(c.localPort!);
    });
  });
}

const capturedBytes = async () => {
  const r = (await (await fb.api(`/api/v1/interfaces/lo/flows?port=${SERVICE_PORT}&limit=100`)).json()) as { flows: FlowRecord[] };
  return r.flows.reduce((a, f) => a + f.bytes, 0);
};
const chartSum = () => page.evaluate(() => ((window as unknown as { flowbridgeCharts?: Record<string, [number, number][]> }).flowbridgeCharts?.throughput ?? []).reduce((a, p) => a + p[1], 0));

describeAsRoot('the dashboard and the process pages', 'capture on lo', () => {
  beforeAll(async () => {
    fb = await startWithFlags(['-i', `tcp://127.0.0.1:${ZMQ_PORT}c`, '-i', 'lo', '--bpf', `lo=tcp port ${SERVICE_PORT}`]);
    producer = await connectProducer(fb, `tcp://127.0.0.1:${ZMQ_PORT}`);
    server = createServer((s) => s.once('data', (d) => s.end(Buffer.alloc(Number(d.toString()), 3))));
    await new Promise<void>((r) => server.listen(SERVICE_PORT, '127.0.0.1', r));
    await waitFor(() => (fb.telemetry.history?.stats().samples ?? 0) > 0, 'the first history sample');
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    producer?.close();
    server?.close();
    await fb?.stop();
  });

  it('draws the throughput from data, redraws it live, and opens the top process with its flows', async () => {
    const clientPort = await exchange(40_000);
    await waitFor(async () => (await capturedBytes()) > 40_000, 'the connection captured');
    await producer.send('flow', {
      ...fixture('nprobe-mini-connect'),
      IF_NAME: 'lo', IPV4_LOCAL_ADDR: '127.0.0.1', IPV4_REMOTE_ADDR: '127.0.0.1', L4_LOCAL_PORT: clientPort, L4_REMOTE_PORT: SERVICE_PORT,
      LOCAL_PROCESS: { PID: 4242, UID: 1000, UID_NAME: 'alice', PROCESS_PATH: '/usr/bin/curl' },
    });
    await waitFor(async () => ((await (await fb.api('/api/v1/processes?interface=lo')).json()) as { total: number }).total === 1, 'the process');

    await page.goto(fb.url);
    await page.locator('tbody tr').filter({ has: page.getByRole('link', { name: 'lo', exact: true }) }).getByRole('link', { name: 'dashboard' }).click();
    expect(await page.locator('h1').innerText()).toBe('Dashboard of lo');
    // The chart's data: 600 one-second buckets, holding the captured bytes once the sampler has seen them all.
    const first = await capturedBytes();
    await waitFor(async () => (await chartSum()) === first, 'the chart to hold the captured bytes', 15_000);
    const points = JSON.parse((await page.locator('svg#throughput').getAttribute('data-points'))!) as [number, number][];
    expect(points).toHaveLength(600);
    expect(points.some(([, v]) => v > 0)).toBe(true);
    expect((await page.locator('svg#throughput polyline.line').getAttribute('points'))!.split(' ')).toHaveLength(600);

    // More traffic: the chart takes it in without a reload.
    await page.evaluate(() => { (window as unknown as { marker: number }).marker = 1; });
    await exchange(25_000);
    await waitFor(async () => (await capturedBytes()) > first + 25_000, 'the second connection captured');
    const both = await capturedBytes();
    await waitFor(async () => (await chartSum()) === both, 'the chart to take in the second connection', 15_000);
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(1); // the same page: no reload

    // Top processes → curl's page → its flows.
    const top = page.locator('#top-processes tbody tr').first();
    expect(await top.locator('td').first().innerText()).toBe('curl');
    await top.getByRole('link', { name: 'curl' }).click();
    expect(await page.locator('h1').innerText()).toBe('Process curl');
    const flows = page.locator('#flows tr', { hasText: `127.0.0.1:${clientPort}` });
    await waitFor(async () => (await flows.count()) === 1, 'curl\'s flow on its page');
    const cells = await flows.locator('td').allInnerTexts();
    expect(cells.slice(0, 4)).toEqual(['lo', `127.0.0.1:${clientPort}`, `127.0.0.1:${SERVICE_PORT}`, 'TCP']);
    expect(await page.locator('#servers tr').first().innerText()).toContain(`127.0.0.1:${SERVICE_PORT}`);

    // The Processes page: listed, filtered, sortable, without JavaScript.
    const html = await (await fb.api('/processes?user=alice&sort=packets')).text();
    expect(html).toContain('>curl</a>');
    expect(await (await fb.api('/processes?user=bob')).text()).not.toContain('>curl</a>');

    // The ZMQ interface's dashboard: the events it took in, and the process from them.
    await page.goto(`${fb.url}/interfaces/0/dashboard`);
    expect(await page.locator('#events tbody tr').first().locator('td').nth(1).innerText()).toBe('1');
    expect(await page.locator('#top-processes tbody tr').first().locator('td').first().innerText()).toBe('curl');
  }, 90_000);
});
