// Continuous recording through the pages, in a real headless Chromium, on lo: a bad max
// disk space is refused in the API's words and changes nothing; the interface page's
// form turns recording on and the footer says so; the flows page's "Extract pcap"
// dialog downloads the window's packets, a flow row's pcap link downloads only that
// flow's and "packets of this process" those of the process a CONNECT event named, and a
// queued job shows on the jobs page until it is deleted. Every download is read back by tshark.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchChromium } from '../support/chromium.ts';
import { fixture } from '../support/fixtures.ts';
import { connectProducer, startWithFlags } from '../support/flowbridge.ts';
import { describeAsRoot } from '../support/privileges.ts';
import type { Producer } from '../support/producer.ts';
import { waitFor } from '../support/wait.ts';
import { payload, sendTcp, sendUdp, tempDir, tsharkRead } from '../recording/support.ts';

const ZMQ_PORT = 18500;
const UDP_PORT = 18501;
const TCP_PORT = 18502;
const FROM_A = 18551;
const FROM_B = 18552;
const out = tempDir('browser-recording');
let fb: Awaited<ReturnType<typeof startWithFlags>>;
let producer: Producer;
let browser: Browser;
let page: Page;

interface RecordingJson { enabled: boolean; state: string; packets: number; settings: unknown }
const recordingOfLo = async () => (await (await fb.api('/api/v1/interfaces/lo/recording')).json()) as RecordingJson;

/** Clicks `click` and saves the download it starts; returns the file. */
async function download(click: () => Promise<void>, name: string): Promise<string> {
  const [d] = await Promise.all([page.waitForEvent('download'), click()]);
  const file = join(out, name);
  await d.saveAs(file);
  return file;
}

describeAsRoot('recording pages', 'capture on lo', () => {
  const udpA = Array.from({ length: 3 }, (_, i) => payload('A', i, 300));
  const udpB = Array.from({ length: 2 }, (_, i) => payload('B', i, 200));
  const tcp = payload('T', 0, 5000);
  let clientPort = 0;

  beforeAll(async () => {
    fb = await startWithFlags(['-i', 'lo', '--bpf', `lo=port ${UDP_PORT} or port ${TCP_PORT}`, '-i', `tcp://127.0.0.1:${ZMQ_PORT}c`]);
    producer = await connectProducer(fb, `tcp://127.0.0.1:${ZMQ_PORT}`);
    await waitFor(async () => ((await (await fb.api('/api/v1/interfaces/lo')).json()) as { status: { state: string } }).status.state === 'running', 'lo to run');
    browser = await launchChromium();
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1600, height: 900 } });
    page = await context.newPage();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    producer?.close();
    await fb?.stop();
  });

  it('refuses a bad max disk space in the API\'s words and changes nothing, then records from the form and says so in the footer', async () => {
    await page.goto(fb.url);
    await page.getByRole('link', { name: 'lo', exact: true }).click();
    expect(await page.locator('#recording-state').innerText()).toBe('Not recording.');
    expect(await page.locator('#recording-badge').count()).toBe(0);

    await page.getByLabel('Enabled').check();
    await page.getByLabel('Max disk space').fill('lots');
    await page.getByRole('button', { name: 'Apply recording settings' }).click();
    expect(await page.locator('.error').innerText()).toBe('maxDiskSpace "lots" is not a size: give a number of bytes, or a number with a unit: KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), e.g. 500MB or 2GiB');
    expect(await page.getByLabel('Enabled').isChecked()).toBe(false);
    expect(await page.getByLabel('Max disk space').inputValue()).toBe('');
    expect(await recordingOfLo()).toMatchObject({ enabled: false, settings: null });

    await page.getByLabel('Enabled').check();
    await page.getByLabel('Max disk space').fill('64MB');
    await page.getByLabel('Max file seconds').fill('30');
    await page.getByRole('button', { name: 'Apply recording settings' }).click();
    expect(await page.locator('.note').innerText()).toBe('Recording settings saved: recording with at most 64 MB on disk.');
    expect(await page.getByLabel('Enabled').isChecked()).toBe(true);
    expect(await page.getByLabel('Max disk space').inputValue()).toBe('64MB');
    expect(await page.getByLabel('Max file seconds').inputValue()).toBe('30');
    expect(await page.getByLabel('Snapshot length').inputValue()).toBe('65535');
    expect(await recordingOfLo()).toMatchObject({ enabled: true, settings: { maxDiskBytes: 64_000_000, maxFileSeconds: 30 } });

    // The footer refreshes itself: the badge shows once the capture reports its recording running.
    const badge = page.locator('#recording-badge');
    await badge.filter({ hasText: 'Recording' }).waitFor({ timeout: 15_000 });
    expect(await badge.innerText()).toBe('Recording');
    expect(await badge.evaluate((a) => getComputedStyle(a).backgroundColor)).toBe('rgb(31, 111, 209)'); // blue
    await badge.click();
    await page.waitForURL(/\/recording$/);
    const status = page.locator('#recording-0 table.recording-status');
    expect(await status.locator('tr', { hasText: 'State' }).innerText()).toMatch(/^State\s+running$/);
    expect(await status.locator('tr', { hasText: 'Disk used' }).innerText()).toMatch(/of 64 MB/);
    await page.screenshot({ path: join(out, 'recording.png'), fullPage: true });
  }, 60_000);

  it('downloads the last 5 minutes from the flows page\'s dialog, refusing a bad filter in the dialog', async () => {
    await sendUdp(FROM_A, UDP_PORT, udpA);
    await sendUdp(FROM_B, UDP_PORT, udpB);
    clientPort = await sendTcp(TCP_PORT, tcp);
    await producer.send('flow', {
      ...fixture('nprobe-mini-connect'), IF_NAME: 'lo',
      IPV4_LOCAL_ADDR: '127.0.0.1', IPV4_REMOTE_ADDR: '127.0.0.1', L4_LOCAL_PORT: clientPort, L4_REMOTE_PORT: TCP_PORT,
      LOCAL_PROCESS: { PID: 4343, UID: 1001, UID_NAME: 'bob', PROCESS_PATH: '/usr/bin/wget', PROCESS_CMDLINE: 'wget' },
    });
    await waitFor(async () => (await recordingOfLo()).packets >= udpA.length + udpB.length + 6, 'the packets to be recorded');

    await page.goto(`${fb.url}/interfaces/0`);
    await page.getByRole('link', { name: /flows?$/ }).first().click();
    await page.getByRole('button', { name: 'Extract pcap…' }).click();
    const dialog = page.locator('dialog#extract');
    expect(await dialog.isVisible()).toBe(true);
    const begin = Date.parse(await page.getByLabel('From', { exact: true }).inputValue());
    const end = Date.parse(await page.getByLabel('to', { exact: true }).inputValue());
    expect(end - begin).toBe(300_000);
    expect(Math.abs(end - Date.now())).toBeLessThan(5_000);
    await page.screenshot({ path: join(out, 'extract-dialog.png') });

    await dialog.getByText('Advanced').click();
    await page.getByLabel('BPF filter', { exact: true }).fill('port banana');
    await dialog.getByRole('button', { name: 'Download now' }).click();
    await dialog.locator('#extract-result.error').waitFor();
    expect(await dialog.locator('#extract-result').innerText()).toMatch(/^BPF filter "port banana": /);

    await page.getByLabel('BPF filter', { exact: true }).fill('');
    const file = await download(() => dialog.getByRole('button', { name: 'Download now' }).click(), 'window.pcap');
    const packets = tsharkRead(file);
    expect(packets.filter((p) => p.protocol === 'udp').map((p) => p.payload)).toEqual([...udpA, ...udpB]);
    expect(Buffer.concat(packets.filter((p) => p.srcPort === clientPort).map((p) => p.payload))).toEqual(tcp);
    await dialog.getByRole('button', { name: 'Close' }).click();
  }, 60_000);

  it('downloads one flow\'s packets from its row', async () => {
    const row = page.locator('#flows tr', { hasText: `127.0.0.1:${FROM_A}` });
    await waitFor(async () => (await row.count()) === 1 && (await row.locator('td').nth(4).innerText()) === String(udpA.length), 'the flow row with all its packets');
    const file = await download(() => row.getByRole('link', { name: 'pcap', exact: true }).click(), 'flow.pcap');
    const packets = tsharkRead(file);
    expect(packets.map((p) => [p.srcPort, p.dstPort])).toEqual(udpA.map(() => [FROM_A, UDP_PORT]));
    expect(packets.map((p) => p.payload)).toEqual(udpA);
    expect(await row.getByRole('link', { name: 'packets of this process' }).count()).toBe(0); // no process known for it
  }, 60_000);

  it('downloads the packets of the process a CONNECT event named, from its flow\'s row', async () => {
    const row = page.locator('#flows tr', { hasText: `127.0.0.1:${clientPort}` });
    await waitFor(async () => (await row.count()) === 1 && (await row.locator('td.process').innerText()) === '/usr/bin/wget [4343]', 'the process in the TCP flow row');
    const file = await download(() => row.getByRole('link', { name: 'packets of this process' }).click(), 'process.pcap');
    const packets = tsharkRead(file);
    expect(packets.length).toBeGreaterThan(0);
    expect(packets.every((p) => p.protocol === 'tcp' && (p.srcPort === clientPort || p.dstPort === clientPort))).toBe(true);
    expect(Buffer.concat(packets.filter((p) => p.srcPort === clientPort).map((p) => p.payload))).toEqual(tcp);
  }, 60_000);

  it('queues a job from the dialog, shows it on the jobs page with its file, and deletes it', async () => {
    await page.getByRole('button', { name: 'Extract pcap…' }).click();
    const dialog = page.locator('dialog#extract');
    if ((await dialog.locator('details').getAttribute('open')) === null) await dialog.getByText('Advanced').click();
    await page.getByLabel('BPF filter', { exact: true }).fill(`udp and src port ${FROM_B}`);
    await dialog.getByRole('button', { name: 'Queue as a job' }).click();
    await dialog.locator('#extract-result.note').waitFor();
    expect(await dialog.locator('#extract-result').innerText()).toMatch(/^Queued as extraction job 1\. See the jobs page$/);

    const jobsBadge = page.locator('#jobs-badge');
    await jobsBadge.filter({ hasText: '1 extraction job' }).waitFor({ timeout: 10_000 });
    await dialog.getByRole('link', { name: 'See the jobs page' }).click();
    await page.waitForURL(/\/extractions$/);
    const job = page.locator('#job-1');
    await job.locator('td.state', { hasText: 'completed' }).waitFor({ timeout: 15_000 });
    await page.screenshot({ path: join(out, 'jobs.png') });
    const cells = await job.locator('td').allInnerTexts();
    expect(cells[2]).toBe('lo');
    expect(cells[4]).toBe(`bpf udp and src port ${FROM_B}`);
    expect(cells[5]).toBe(String(udpB.length));
    const file = await download(() => job.getByRole('link', { name: /^Download / }).click(), 'job.pcap');
    expect(tsharkRead(file).map((p) => p.payload)).toEqual(udpB);

    await job.getByRole('button', { name: 'Delete' }).click();
    expect(await page.locator('.note').innerText()).toBe('Extraction job 1 deleted.');
    expect(await page.locator('#job-1').count()).toBe(0);
    expect(await page.locator('#jobs').innerText()).toContain('No extraction jobs.');
    expect(await page.locator('#jobs-badge').count()).toBe(0);
    expect(((await (await fb.api('/api/v1/extractions')).json()) as { jobs: unknown[] }).jobs).toEqual([]);
  }, 60_000);
});

describeAsRoot('recording pages when the recording fails', 'capture on lo', () => {
  const UDP_FAIL_PORT = 18503;
  let failing: Awaited<ReturnType<typeof startWithFlags>>;
  let failingBrowser: Browser;

  beforeAll(async () => {
    // The pcap directory is a file: the recording cannot start, the capture goes on.
    const notADirectory = join(out, 'not-a-directory');
    writeFileSync(notADirectory, 'a file');
    failing = await startWithFlags(['-i', 'lo', '--bpf', `lo=port ${UDP_FAIL_PORT}`, '--record', 'lo=16MB', '--pcap-dir', notADirectory]);
    failingBrowser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await failingBrowser?.close();
    await failing?.stop();
  });

  it('shows a red "Recording failed" badge leading to the reason on the recording page', async () => {
    await sendUdp(18553, UDP_FAIL_PORT, [payload('F', 0, 100)]);
    await waitFor(async () => ((await (await failing.api('/api/v1/interfaces/lo/recording')).json()) as RecordingJson).state === 'failed', 'the recording to fail');
    const p = await failingBrowser.newPage();
    await p.goto(failing.url);
    const badge = p.locator('#recording-badge');
    expect(await badge.innerText()).toBe('Recording failed');
    expect(await badge.evaluate((a) => getComputedStyle(a).backgroundColor)).toBe('rgb(192, 57, 43)'); // red
    await badge.click();
    await p.waitForURL(/\/recording$/);
    const status = p.locator('#recording-0 table.recording-status');
    expect(await status.locator('tr', { hasText: 'State' }).innerText()).toMatch(/^State\s+failed · cannot use .*not-a-directory\/0: /);
    expect(await p.locator('#recording-0 pre.log').innerText()).toMatch(/cannot use .*not-a-directory\/0: /);
  }, 60_000);
});

describeAsRoot('recording pages with an API token', 'capture on lo', () => {
  const UDP_TOKEN_PORT = 18504;
  const datagrams = [payload('K', 0, 150), payload('K', 1, 150)];
  let guarded: Awaited<ReturnType<typeof startWithFlags>>;
  let guardedBrowser: Browser;

  beforeAll(async () => {
    guarded = await startWithFlags(['-i', 'lo', '--bpf', `lo=port ${UDP_TOKEN_PORT}`, '--record', 'lo=16MB', '--api-token', 'page-token']);
    guardedBrowser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await guardedBrowser?.close();
    await guarded?.stop();
  });

  it('asks to sign in before a download, then downloads with the cookie the login form set', async () => {
    await waitFor(async () => ((await (await guarded.api('/api/v1/interfaces/lo/recording')).json()) as RecordingJson).state === 'running', 'the recording to run');
    await sendUdp(18554, UDP_TOKEN_PORT, datagrams);
    await waitFor(async () => ((await (await guarded.api('/api/v1/interfaces/lo/recording')).json()) as RecordingJson).packets >= datagrams.length, 'the datagrams to be recorded');
    const p = await (await guardedBrowser.newContext({ acceptDownloads: true })).newPage();
    await p.goto(`${guarded.url}/interfaces/0/flows`);
    const dialog = p.locator('dialog#extract');
    await p.getByRole('button', { name: 'Extract pcap…' }).click();
    await dialog.getByRole('button', { name: 'Download now' }).click();
    await dialog.locator('#extract-result.error').waitFor();
    expect(await dialog.locator('#extract-result').innerText()).toBe('packets need the API token: sign in at /login first');

    await p.goto(`${guarded.url}/login?next=${encodeURIComponent('/interfaces/0/flows')}`);
    await p.locator('input[name=token]').fill('page-token');
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.waitForURL(/\/interfaces\/0\/flows$/);
    await p.getByRole('button', { name: 'Extract pcap…' }).click();
    const [d] = await Promise.all([p.waitForEvent('download'), dialog.getByRole('button', { name: 'Download now' }).click()]);
    const file = join(out, 'signed-in.pcap');
    await d.saveAs(file);
    expect(tsharkRead(file).map((x) => x.payload)).toEqual(datagrams);
  }, 60_000);
});
