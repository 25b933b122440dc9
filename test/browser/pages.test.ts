// The operator's path through the pages, in a real headless Chromium: tick "Mirrored
// Traffic" on a packet interface, pick it as the ZMQ interface's "Companion Interface",
// and see the merged flow with its process in that interface's flow table.
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { browserRig } from '../support/browser-rig.ts';
import { fixture } from '../support/fixtures.ts';
import { waitFor } from '../support/wait.ts';

const rig = browserRig(16520, { width: 1400, height: 700 });
const ZMQ = rig.zmq;


it('ticks Mirrored Traffic, picks the companion, and shows the merged flow with its process', async () => {
  await rig.page.goto(rig.fb.url);
  await rig.page.getByRole('link', { name: `pcap:${rig.pcapFile}` }).click();
  await rig.page.getByLabel('Mirrored Traffic').check();
  await rig.page.getByRole('button', { name: 'Save' }).click();
  expect(await rig.page.locator('.note').innerText()).toContain('Saved.');
  expect(await rig.page.getByLabel('Mirrored Traffic').isChecked()).toBe(true);

  await rig.page.goto(rig.fb.url);
  await rig.page.getByRole('link', { name: ZMQ }).click();
  const options = await rig.page.locator('#companion option').allTextContents();
  expect(options).toEqual(['None', `pcap:${rig.pcapFile}`]); // only mirrored interfaces are offered
  await rig.page.getByLabel('Companion Interface').selectOption(`pcap:${rig.pcapFile}`);
  await rig.page.getByRole('button', { name: 'Save' }).click();
  expect(await rig.page.locator('.note').innerText()).toContain('Saved.');

  await rig.producer.send('flow', fixture('ebpflowexport-connect-failed')); // 10.0.0.5:40100 -> 10.0.0.99:8080, python3.11
  await rig.page.goto(`${rig.fb.url}/interfaces/1/flows`);
  const row = rig.page.locator('#flows tr', { hasText: '10.0.0.5:40100' });
  // The rig.page refreshes itself every 2 s: wait for the event to show up in the row.
  await waitFor(async () => (await row.count()) === 1 && (await row.locator('td.process').innerText()).includes('/usr/bin/python3.11 [5120]'), 'the process in the flow row');
  const cells = await row.innerText();
  expect(cells).toContain('CONNECT_FAILED');
  expect(cells).toMatch(/packets\s*events/);
  await rig.page.screenshot({ path: join(rig.dir, 'flows.png'), fullPage: true });

  // Filtering by process keeps the row; another process hides it.
  await rig.page.goto(`${rig.fb.url}/interfaces/1/flows?process=python`);
  expect(await rig.page.locator('#flows tr').count()).toBe(1);
  await rig.page.goto(`${rig.fb.url}/interfaces/1/flows?process=nginx`);
  expect(await rig.page.locator('#flows tr').count()).toBe(0);

  // A companion that stops being mirrored is shown as a problem, not hidden.
  await rig.page.goto(`${rig.fb.url}/interfaces/1`);
  await rig.page.getByLabel('Mirrored Traffic').uncheck();
  await rig.page.getByRole('button', { name: 'Save' }).click();
  expect(await rig.page.locator('.note').innerText()).toContain('no longer mirrored');
  await rig.page.goto(rig.fb.url);
  expect(await rig.page.locator('.problem').innerText()).toContain('is not marked mirrored');
}, 60_000);
