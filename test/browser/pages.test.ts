// The operator's path through the pages, in a real headless Chromium: tick "Mirrored
// Traffic" on a packet interface, pick it as the ZMQ interface's "Companion Interface",
// and see the merged flow with its process in that interface's flow table.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchChromium } from '../support/chromium.ts';
import { fixture } from '../support/fixtures.ts';
import { connectProducer, startWithFlags } from '../support/flowbridge.ts';
import { frame, writePcap } from '../support/packets.ts';
import type { Producer } from '../support/producer.ts';
import { waitFor } from '../support/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'fb-browser-'));
const pcapFile = join(dir, 'span.pcap');
const ZMQ = 'tcp://127.0.0.1:16520c';
let fb: Awaited<ReturnType<typeof startWithFlags>>;
let producer: Producer;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  writePcap(pcapFile, [
    frame({ src: '10.0.0.5', dst: '10.0.0.99', protocol: 'tcp', sport: 40100, dport: 8080, flags: 'S' }),
    frame({ src: '10.0.0.99', dst: '10.0.0.5', protocol: 'tcp', sport: 8080, dport: 40100, flags: 'R' }),
  ]);
  fb = await startWithFlags(['-i', ZMQ, '-i', `pcap:${pcapFile}`]);
  producer = await connectProducer(fb, 'tcp://127.0.0.1:16520');
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 700 } });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  producer?.close();
  await fb?.stop();
});

it('ticks Mirrored Traffic, picks the companion, and shows the merged flow with its process', async () => {
  await page.goto(fb.url);
  await page.getByRole('link', { name: `pcap:${pcapFile}` }).click();
  await page.getByLabel('Mirrored Traffic').check();
  await page.getByRole('button', { name: 'Save' }).click();
  expect(await page.locator('.note').innerText()).toContain('Saved.');
  expect(await page.getByLabel('Mirrored Traffic').isChecked()).toBe(true);

  await page.goto(fb.url);
  await page.getByRole('link', { name: ZMQ }).click();
  const options = await page.locator('#companion option').allTextContents();
  expect(options).toEqual(['None', `pcap:${pcapFile}`]); // only mirrored interfaces are offered
  await page.getByLabel('Companion Interface').selectOption(`pcap:${pcapFile}`);
  await page.getByRole('button', { name: 'Save' }).click();
  expect(await page.locator('.note').innerText()).toContain('Saved.');

  await producer.send('flow', fixture('ebpflowexport-connect-failed')); // 10.0.0.5:40100 -> 10.0.0.99:8080, python3.11
  await page.goto(`${fb.url}/interfaces/1/flows`);
  const row = page.locator('#flows tr', { hasText: '10.0.0.5:40100' });
  // The page refreshes itself every 2 s: wait for the event to show up in the row.
  await waitFor(async () => (await row.count()) === 1 && (await row.locator('td.process').innerText()).includes('/usr/bin/python3.11 [5120]'), 'the process in the flow row');
  const cells = await row.innerText();
  expect(cells).toContain('CONNECT_FAILED');
  expect(cells).toMatch(/packets\s*events/);
  await page.screenshot({ path: join(dir, 'flows.png'), fullPage: true });

  // Filtering by process keeps the row; another process hides it.
  await page.goto(`${fb.url}/interfaces/1/flows?process=python`);
  expect(await page.locator('#flows tr').count()).toBe(1);
  await page.goto(`${fb.url}/interfaces/1/flows?process=nginx`);
  expect(await page.locator('#flows tr').count()).toBe(0);

  // A companion that stops being mirrored is shown as a problem, not hidden.
  await page.goto(`${fb.url}/interfaces/1`);
  await page.getByLabel('Mirrored Traffic').uncheck();
  await page.getByRole('button', { name: 'Save' }).click();
  expect(await page.locator('.note').innerText()).toContain('no longer mirrored');
  await page.goto(fb.url);
  expect(await page.locator('.problem').innerText()).toContain('is not marked mirrored');
}, 60_000);
