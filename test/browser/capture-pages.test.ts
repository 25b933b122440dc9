// On-demand capture through the pages (seed 003, "Interface tools → Traffic capture"), in
// a real headless Chromium, on lo. Two users are created over the API with the API token
// (the admin while no users exist): "capt" (viewer, granted capture and pcap) and "boss"
// (admin, no grants). capt opens the dialog on lo, is refused a bad filter in libpcap's
// words (nothing started, what was typed kept), starts a capture with a filter, UDP is sent
// to a matching and another port, stops it, finds the file on the Captures page and
// downloads it: tshark reads only the matching datagrams, as sent. boss sees the dialog
// disabled with the reason, and the Captures page without Download or Delete.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchChromium } from '../support/chromium.ts';
import { startWithFlags } from '../support/flowbridge.ts';
import { describeAsRoot } from '../support/privileges.ts';
import { waitFor } from '../support/wait.ts';
import { payload, sendUdp, tempDir, tsharkRead } from '../recording/support.ts';

const TOKEN = 'capture-pages-token';
const MATCH_PORT = 17901;
const OTHER_PORT = 17902;
const FROM = 17951;
const out = tempDir('browser-capture');
let fb: Awaited<ReturnType<typeof startWithFlags>>;
let browser: Browser;
let lo: { id: number; name: string };

const asAdmin = (path: string, init: RequestInit = {}) => fb.api(path, { ...init, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
type Status = { status: string; packets: number; filteredOut: number; files: string[]; startedBy: string | null; filter: string };
const status = async () => (await (await asAdmin(`/api/v1/interfaces/${lo.id}/capture`)).json()) as Status;

async function signIn(name: string, password: string, next: string): Promise<Page> {
  const page = await (await browser.newContext({ acceptDownloads: true, viewport: { width: 1400, height: 1000 } })).newPage();
  await page.goto(`${fb.url}/login?next=${encodeURIComponent(next)}`);
  await page.locator('input[name=user]').fill(name);
  await page.locator('input[name=password]').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => u.pathname === next);
  return page;
}

describeAsRoot('capture pages', 'capture on lo', () => {
  const matching = Array.from({ length: 6 }, (_, i) => payload('M', i, 300));
  const other = Array.from({ length: 4 }, (_, i) => payload('O', i, 200));
  let capt: Page;
  let fileName = '';

  beforeAll(async () => {
    fb = await startWithFlags(['-i', 'lo', '--api-token', TOKEN]);
    lo = ((await (await asAdmin('/api/v1/interfaces')).json()) as { interfaces: { id: number; name: string; kind: string }[] }).interfaces.find((i) => i.name === 'lo')!;
    await waitFor(async () => ((await (await asAdmin(`/api/v1/interfaces/${lo.id}`)).json()) as { status: { state: string } }).status.state === 'running', 'lo to run');
    for (const user of [
      { name: 'capt', roles: ['viewer'], grants: ['capture', 'pcap'], password: 'capt-password-1' },
      { name: 'boss', roles: ['admin'], password: 'boss-password-1' },
    ]) {
      const r = await asAdmin('/api/v1/users', { method: 'POST', body: JSON.stringify(user) });
      expect(r.status, await r.clone().text()).toBe(201);
    }
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await fb?.stop();
  });

  it('refuses a bad filter in libpcap\'s words and starts nothing, keeping what was typed', async () => {
    capt = await signIn('capt', 'capt-password-1', `/interfaces/${lo.id}`);
    expect(await capt.locator('#signed-in').innerText()).toMatch(/capt\s+\(viewer, capture, pcap\)/);
    expect(await capt.locator('dialog#traffic-capture').count()).toBe(0);
    await capt.getByRole('button', { name: 'Traffic capture' }).click();
    const dialog = capt.locator('dialog#traffic-capture');
    await dialog.waitFor();
    expect(await dialog.locator('#capture-state').innerText()).toBe('Stopped');
    expect(await dialog.getByLabel('Interface').inputValue()).toBe(String(lo.id));
    expect(await dialog.getByLabel('Interface').locator('option').allInnerTexts()).toContain('lo');
    expect(await dialog.getByRole('button', { name: 'Stop' }).isDisabled()).toBe(true);
    expect(await dialog.locator('#capture-refused').count()).toBe(0);

    await dialog.getByLabel('Filter').fill('port banana');
    await dialog.getByLabel('Max Capture Size (MB)').fill('5');
    await dialog.getByRole('button', { name: 'Start' }).click();
    await capt.waitForURL(/flash=/);
    const error = await capt.locator('.error').innerText();
    expect(error).toMatch(/^BPF filter "port banana": .*banana/);
    expect(capt.url()).not.toContain('banana');
    expect((await status()).status).toBe('Stopped');
    expect(await capt.locator('#capture-state').innerText()).toBe('Stopped');
    expect(await capt.getByLabel('Filter').inputValue()).toBe('port banana');
    expect(await capt.getByLabel('Max Capture Size (MB)').inputValue()).toBe('5');
  }, 60_000);

  it('starts a capture with a filter from the dialog, stops it, and downloads only the matching packets from the Captures page', async () => {
    const dialog = capt.locator('dialog#traffic-capture');
    await dialog.getByLabel('Filter').fill(`udp dst port ${MATCH_PORT}`);
    await dialog.getByLabel('Max Capture Size (MB)').fill('5');
    await dialog.getByLabel('Delete Files On Start').check();
    await dialog.getByRole('button', { name: 'Start' }).click();
    await capt.waitForURL(/flash=/);
    expect(await capt.locator('.note').innerText()).toBe(`Traffic capture started on lo (filter udp dst port ${MATCH_PORT}), at most 5 MB. It goes on with this dialog closed.`);
    expect(await capt.locator('#capture-state').innerText()).toBe('Running');
    expect(await capt.getByRole('button', { name: 'Start' }).isDisabled()).toBe(true);
    expect(await status()).toMatchObject({ status: 'Running', startedBy: 'capt', filter: `udp dst port ${MATCH_PORT}` });

    for (let i = 0; i < matching.length; i++) {
      await sendUdp(FROM, MATCH_PORT, [matching[i]]);
      if (i < other.length) await sendUdp(FROM, OTHER_PORT, [other[i]]);
    }
    await waitFor(async () => (await status()).packets >= matching.length, 'the matching datagrams written');
    // The dialog refreshes its status in place.
    await waitFor(async () => (await capt.locator('#capture-status').innerText()).includes(`${matching.length} packets written`), 'the dialog to show the packets', 10_000, 100);
    await capt.screenshot({ path: join(out, 'dialog-running.png'), fullPage: true });

    await capt.getByRole('button', { name: 'Stop' }).click();
    await capt.waitForURL(/flash=/);
    const stopped = await status();
    expect(stopped.status).toBe('Stopped');
    expect(stopped.packets).toBe(matching.length);
    expect(stopped.files).toHaveLength(1);
    fileName = stopped.files[0];
    expect(await capt.locator('.note').innerText()).toMatch(new RegExp(`^Traffic capture stopped on lo: ${matching.length} packets, ${fileName.replaceAll('.', '\\.')} \\(.+\\) on the Captures page\\.$`));
    expect(await capt.locator('#capture-state').innerText()).toBe('Stopped');

    await capt.getByRole('link', { name: 'Captures', exact: true }).click();
    await capt.waitForURL(/\/captures$/);
    const row = capt.locator(`tr[data-file="${fileName}"]`);
    expect(await capt.locator('#captures tbody tr').count()).toBe(1);
    const bytes = Number((await row.locator('td.bytes').innerText()).replaceAll(',', ''));
    expect(await row.locator('td.interface').innerText()).toBe('lo');
    expect(await row.locator('td.started-by').innerText()).toBe('capt');
    expect(await row.locator('td.created').innerText()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    expect(await row.getByRole('button', { name: 'Delete' }).count()).toBe(1);
    await capt.screenshot({ path: join(out, 'captures.png'), fullPage: true });

    const [download] = await Promise.all([capt.waitForEvent('download'), row.getByRole('link', { name: 'Download' }).click()]);
    expect(download.suggestedFilename()).toBe(fileName);
    const saved = join(out, fileName);
    await download.saveAs(saved);
    expect(readFileSync(saved).length).toBe(bytes);
    const packets = tsharkRead(saved);
    expect(packets.map((p) => [p.protocol, p.srcPort, p.dstPort])).toEqual(matching.map(() => ['udp', FROM, MATCH_PORT]));
    expect(packets.map((p) => p.payload)).toEqual(matching);

    // Start, stop and download are audited as capt's; the refused start says why.
    const audit = readFileSync(join(fb.dataDir, 'audit.log'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { user: string; action: string; result: string; route?: string });
    expect(audit.find((a) => a.user === 'capt' && a.action === 'capture.start')?.result).toMatch(/^refused: BPF filter "port banana"/);
    expect(audit.filter((a) => a.user === 'capt').map((a) => [a.action, a.result])).toEqual(
      expect.arrayContaining([['capture.start', 'ok'], ['capture.stop', 'ok'], ['pcap.download', 'ok']]),
    );
  }, 60_000);

  it('shows a user without the capture permission the dialog disabled with the reason, and no Download link', async () => {
    const boss = await signIn('boss', 'boss-password-1', `/interfaces/${lo.id}`);
    await boss.getByRole('button', { name: 'Traffic capture' }).click();
    const dialog = boss.locator('dialog#traffic-capture');
    await dialog.waitFor();
    expect(await dialog.locator('#capture-refused').innerText()).toMatch(/^Starting and stopping a capture is disabled: user boss needs the capture permission for this \(/);
    expect(await dialog.getByRole('button', { name: 'Start' }).isDisabled()).toBe(true);
    expect(await dialog.getByRole('button', { name: 'Stop' }).isDisabled()).toBe(true);
    expect(await dialog.getByLabel('Filter').isDisabled()).toBe(true);
    expect(await dialog.getByLabel('Interface').isDisabled()).toBe(true);
    expect(await dialog.locator('#capture-state').innerText()).toBe('Stopped');
    await boss.screenshot({ path: join(out, 'dialog-disabled.png'), fullPage: true });

    await boss.getByRole('link', { name: 'Captures', exact: true }).click();
    await boss.waitForURL(/\/captures$/);
    const row = boss.locator(`tr[data-file="${fileName}"]`);
    expect(await row.locator('td.started-by').innerText()).toBe('capt');
    expect(await boss.getByRole('link', { name: 'Download' }).count()).toBe(0);
    expect(await boss.getByRole('button', { name: 'Delete' }).count()).toBe(0);
    expect(await boss.locator('#download-refused').innerText()).toMatch(/^Downloading is disabled: user boss needs the pcap permission for this/);
    // And the routes themselves refuse, naming the permission.
    const got = await boss.goto(`${fb.url}/captures/${fileName}/download`);
    expect(got!.status()).toBe(403);
    expect(await boss.locator('body').innerText()).toContain('needs the pcap permission');
    expect((await status()).status).toBe('Stopped');
  }, 60_000);
});
