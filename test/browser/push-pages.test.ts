// Push targets through the pages, in a real headless Chromium, on lo: a target with a split
// of 0 is refused in PushTargets' words, nothing is created and the form keeps what was
// typed; a FILE target created from the form into a temporary directory with 1-s splits
// counts the datagrams sent on lo as its splits close, and its log page shows FMADIO's
// "New Split" lines; an edited filter is applied (what it leaves out is counted); Delete
// removes the target and leaves its files, which tshark reads back as the datagrams pushed.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchChromium } from '../support/chromium.ts';
import { startWithFlags } from '../support/flowbridge.ts';
import { describeAsRoot } from '../support/privileges.ts';
import { waitFor } from '../support/wait.ts';
import { payload, sendUdp, tempDir, tsharkRead } from '../recording/support.ts';

const UDP_PORT = 16801;
const FROM_A = 16851;
const FROM_B = 16852;
const out = tempDir('browser-push');
const pushDir = join(out, 'pushed');
let fb: Awaited<ReturnType<typeof startWithFlags>>;
let browser: Browser;
let page: Page;

interface TargetJson { desc: string; filterBpf: string | null; stats: { state: string; files: number; packets: number } }
const targets = async () => ((await (await fb.api('/api/v1/push-targets')).json()) as { targets: TargetJson[] }).targets;

/** A cell of the target's row, as the page (refreshing itself every 2 s) shows it. */
const cell = (row: Locator, name: string) => row.locator(`td.${name}`).innerText();
const untilCell = (row: Locator, name: string, ok: (text: string) => boolean, what: string) =>
  waitFor(async () => (await row.count()) === 1 && ok(await cell(row, name)), what, 15_000, 100);

describeAsRoot('push pages', 'capture on lo', () => {
  const sentA = Array.from({ length: 5 }, (_, i) => payload('A', i, 300));
  const filteredB = Array.from({ length: 3 }, (_, i) => payload('B', i, 200));
  const sentC = Array.from({ length: 2 }, (_, i) => payload('C', i, 250));

  beforeAll(async () => {
    fb = await startWithFlags(['-i', 'lo', '--bpf', `lo=port ${UDP_PORT}`]);
    await waitFor(async () => ((await (await fb.api('/api/v1/interfaces/lo')).json()) as { status: { state: string } }).status.state === 'running', 'lo to run');
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1800, height: 1000 } });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await fb?.stop();
  });

  const fillForm = async (split: string) => {
    await page.getByLabel('Desc').fill('pcap-lo');
    await page.getByLabel('Mode').selectOption('FILE');
    await page.getByLabel('Path').fill(join(pushDir, 'lo'));
    await page.getByLabel('Split').fill(split);
    await page.getByLabel('FileName').selectOption('--filename-epoch-sec-startend');
    await page.getByLabel('Interface').selectOption('lo');
  };

  it('refuses a split of 0 in PushTargets\' words, creates nothing and keeps the form as typed', async () => {
    await page.goto(fb.url);
    await page.getByRole('link', { name: 'Push', exact: true }).click();
    await page.waitForURL(/\/push$/);
    expect(await page.locator('#targets').innerText()).toBe('No push targets.');
    expect(await page.getByLabel('Spool size').isDisabled()).toBe(true); // RCLONE only
    await page.getByLabel('Mode').selectOption('RCLONE');
    expect(await page.getByLabel('Spool size').isDisabled()).toBe(false);

    await fillForm('--split-time 0');
    await page.getByRole('button', { name: 'Create push target' }).click();
    expect(await page.locator('.error').innerText()).toBe('push target pcap-lo: split "--split-time 0": the nanoseconds must be a whole number of at least 1');
    expect(page.url()).not.toContain('split');
    expect(await page.locator('#targets').innerText()).toBe('No push targets.');
    expect(await targets()).toEqual([]);
    expect(existsSync(pushDir)).toBe(false);
    expect(await page.getByLabel('Desc').inputValue()).toBe('pcap-lo');
    expect(await page.getByLabel('Path').inputValue()).toBe(join(pushDir, 'lo'));
    expect(await page.getByLabel('Split').inputValue()).toBe('--split-time 0');
  }, 60_000);

  it('creates a FILE target from the form whose splits count the datagrams sent, and whose log shows "New Split"', async () => {
    await fillForm('--split-time 1e9');
    await page.getByRole('button', { name: 'Create push target' }).click();
    expect(await page.locator('.note').innerText()).toBe('Push target pcap-lo created.');
    const row = page.locator('#target-pcap-lo');
    expect((await row.locator('td').allInnerTexts()).slice(0, 7)).toEqual([
      'pcap-lo', 'FILE', join(pushDir, 'lo'), '--split-time 1e9', '--filename-epoch-sec-startend', 'every packet', 'lo',
    ]);
    // The capture may reopen lo for whole packets: send once the target runs there.
    await untilCell(row, 'state-cell', (s) => s === 'running', 'the target to run');

    await sendUdp(FROM_A, UDP_PORT, sentA);
    // Packets count once their 1-s split closes; the page refreshes itself.
    await untilCell(row, 'packets', (s) => s === String(sentA.length), 'the datagrams in closed splits');
    expect(Number(await cell(row, 'files'))).toBeGreaterThanOrEqual(1);
    expect(await cell(row, 'bytes')).not.toBe('0 bytes');
    expect(await cell(row, 'filtered')).toBe('0');
    await page.screenshot({ path: join(out, 'push.png'), fullPage: true });

    await row.getByRole('link', { name: 'Log' }).click();
    await page.waitForURL(/\/push\/pcap-lo\/log$/);
    const log = page.locator('pre.log');
    await waitFor(async () => (await log.innerText()).includes('New Split'), 'a "New Split" line', 15_000, 100);
    const newSplit = (await log.innerText()).split('\n').filter((l) => l.endsWith(' : New Split'));
    expect(newSplit.length).toBeGreaterThanOrEqual(1);
    for (const line of newSplit) {
      expect(line).toMatch(new RegExp(`^\\[\\d+\\.\\d{3} H\\]\\[\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\] ${join(pushDir, 'lo_')}\\d+-\\d+\\.pcap : Total Bytes \\d+\\.\\d{3} GB Speed: \\d+\\.\\d{3}Gbps : New Split$`));
    }
    expect(await page.locator('#log p').innerText()).toMatch(/^The last 200 lines of .*\/log\/push_pcap-lo_\d{8}_\d{4}\.$/);
  }, 60_000);

  it('edits the filter: the form comes prefilled, only the filter changes, and what it leaves out is counted', async () => {
    await page.getByRole('link', { name: 'Push targets' }).click();
    const row = page.locator('#target-pcap-lo');
    await row.getByRole('link', { name: 'Edit' }).click();
    await page.waitForURL(/\/push\/pcap-lo\/edit$/);
    expect(await page.getByLabel('Desc').inputValue()).toBe('pcap-lo');
    expect(await page.getByLabel('Desc').getAttribute('readonly')).not.toBeNull();
    expect(await page.getByLabel('Path').inputValue()).toBe(join(pushDir, 'lo'));
    expect(await page.getByLabel('Split').inputValue()).toBe('--split-time 1e9');
    expect(await page.getByLabel('FileName').inputValue()).toBe('--filename-epoch-sec-startend');
    expect(await page.getByLabel('Interface').inputValue()).toBe('lo');
    expect(await page.getByLabel('FilterBPF').inputValue()).toBe('');

    await page.getByLabel('FilterBPF').fill('port banana');
    await page.getByRole('button', { name: 'Save push target' }).click();
    expect(await page.locator('.error').innerText()).toMatch(/^push target pcap-lo: BPF filter "port banana": /);
    expect(await page.getByLabel('FilterBPF').inputValue()).toBe('port banana');
    expect((await targets())[0].filterBpf).toBeNull();

    await page.getByLabel('FilterBPF').fill(`udp src port ${FROM_B}`);
    await page.getByRole('button', { name: 'Save push target' }).click();
    await page.waitForURL(/\/push\?flash=/);
    expect(await page.locator('.note').innerText()).toBe('Push target pcap-lo saved (filterBpf changed).');
    expect(await cell(row, 'filter')).toBe(`udp src port ${FROM_B}`);
    expect((await targets())[0]).toMatchObject({ filterBpf: `udp src port ${FROM_B}` });
    // The target restarts with its new filter, its counters from zero.
    await untilCell(row, 'packets', (s) => s === '0', 'the target to restart with the new filter');

    await sendUdp(FROM_A, UDP_PORT, filteredB);
    await sendUdp(FROM_B, UDP_PORT, sentC);
    await untilCell(row, 'filtered', (s) => s === String(filteredB.length), 'the datagrams the filter leaves out');
    await untilCell(row, 'packets', (s) => s === String(sentC.length), 'the filtered datagrams in closed splits');
  }, 60_000);

  it('deletes the target after asking, leaving its files, which hold the datagrams pushed', async () => {
    const row = page.locator('#target-pcap-lo');
    let asked = '';
    page.once('dialog', (d) => {
      asked = d.message();
      void d.accept();
    });
    await row.getByRole('button', { name: 'Delete' }).click();
    await page.waitForURL(/\/push\?flash=/);
    expect(asked).toBe('Delete push target pcap-lo? The files it pushed stay where they are.');
    expect(await page.locator('.note').innerText()).toBe('Push target pcap-lo deleted. The files it pushed stay where they are.');
    expect(await page.locator('#targets').innerText()).toBe('No push targets.');
    expect(await targets()).toEqual([]);
    expect((await page.goto(`${fb.url}/push/pcap-lo/log`))?.status()).toBe(404);

    // Every split complete (no .part left), named as --filename-epoch-sec-startend says.
    const files = await waitFor(() => {
      const names = readdirSync(pushDir).sort();
      return names.length && names.every((n) => !n.endsWith('.part')) ? names : undefined;
    }, 'the splits to be renamed');
    for (const name of files) {
      const m = /^lo_(\d+)-(\d+)\.pcap$/.exec(name);
      expect(m, name).not.toBeNull();
      expect(Number(m![2]) - Number(m![1])).toBe(1);
    }
    const packets = files.flatMap((n) => tsharkRead(join(pushDir, n)));
    expect(packets.map((p) => [p.protocol, p.dstPort])).toEqual([...sentA, ...sentC].map(() => ['udp', UDP_PORT]));
    expect(packets.map((p) => p.payload)).toEqual([...sentA, ...sentC]);
  }, 60_000);
});
