// The Alerts page in a real headless Chromium, on lo with conditional pcap: UDP datagrams
// to a listener on lo make a flow; an alert POSTed naming it (its signature text holding
// markup) and one naming no flow show on the page newest first, the first matched with
// its flow (lo, client → server, Community ID) and a link to that flow on the flows page,
// the second unmatched (no-flow); the counters and the conditional store's figures at the
// top say so; the filters narrow the list and a bad Community ID is refused in words;
// the rules PUT through the API are listed; the alert's pcap link downloads the flow's
// packets, which tshark reads back as the datagrams sent.
import { createSocket, type Socket } from 'node:dgram';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { communityId } from '../../src/model/community-id.ts';
import { eveAlert } from '../alerts/support.ts';
import { launchChromium } from '../support/chromium.ts';
import { startWithFlags } from '../support/flowbridge.ts';
import { describeAsRoot } from '../support/privileges.ts';
import { waitFor } from '../support/wait.ts';
import { payload, sendUdp, tempDir, tsharkRead } from '../recording/support.ts';

const SERVER_PORT = 17801;
const CLIENT_PORT = 17851;
const NOBODY_PORT = 17809;
const SIG = 9711;
const SIG_NONE = 9712;
const SIGNATURE = 'flowbridge test <b>bold</b> & "quoted"';
const out = tempDir('browser-alerts');
let fb: Awaited<ReturnType<typeof startWithFlags>>;
let browser: Browser;
let page: Page;
let listener: Socket;
const received: Buffer[] = [];

const api = async <T>(path: string, init?: RequestInit): Promise<T> => (await (await fb.api(path, init)).json()) as T;
const postAlert = (body: unknown) => fb.api('/api/v1/alerts', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const cells = async (id: string) => page.locator(`#alert-${id} td`).allInnerTexts();

describeAsRoot('alerts page', 'capture on lo', () => {
  const before = Array.from({ length: 3 }, (_, i) => payload('A', i, 300));
  const after = Array.from({ length: 4 }, (_, i) => payload('A', before.length + i, 300));
  const cid = communityId(17, '127.0.0.1', CLIENT_PORT, '127.0.0.1', SERVER_PORT);
  const ids: Record<number, string> = {};

  beforeAll(async () => {
    listener = createSocket('udp4');
    listener.on('message', (m) => received.push(m));
    await new Promise<void>((r) => listener.bind(SERVER_PORT, '127.0.0.1', r));
    fb = await startWithFlags(['-i', 'lo', '--bpf', 'lo=udp portrange 17800-17899', '--conditional-pcap', `lo=${4 * 1024 * 1024}`]);
    await waitFor(async () => (await api<{ status: { state: string } }>('/api/v1/interfaces/lo')).status.state === 'running', 'lo to run');
    browser = await launchChromium();
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1900, height: 1000 } });
    page = await context.newPage();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await fb?.stop();
    listener?.close();
  });

  it('shows a POSTed alert matched to the UDP flow on lo, and one naming no flow as unmatched, with the counters', async () => {
    await page.goto(fb.url);
    await page.getByRole('link', { name: 'Alerts', exact: true }).click();
    await page.waitForURL(/\/alerts$/);
    expect(await page.locator('#alerts-total').innerText()).toBe('0 alerts');
    expect(await page.locator('#rules').innerText()).toMatch(/^No rules/);

    await sendUdp(CLIENT_PORT, SERVER_PORT, before);
    await waitFor(async () => (await api<{ flows: unknown[] }>(`/api/v1/interfaces/lo/flows?port=${SERVER_PORT}`)).flows.length === 1, 'the UDP flow in lo\'s table');
    const r = await postAlert(eveAlert({ proto: 'UDP', src_ip: '127.0.0.1', src_port: CLIENT_PORT, dest_ip: '127.0.0.1', dest_port: SERVER_PORT, community_id: cid, flow_id: 4711, alert: { signature_id: SIG, signature: SIGNATURE, severity: 1, category: 'Test' } }));
    expect(r.status).toBe(201);
    ids[SIG] = ((await r.json()) as { alerts: { id: string }[] }).alerts[0].id;
    const none = await postAlert(eveAlert({ proto: 'UDP', src_ip: '127.0.0.1', src_port: 40000, dest_ip: '127.0.0.1', dest_port: NOBODY_PORT, alert: { signature_id: SIG_NONE, signature: 'no such flow', severity: 3 } }));
    expect(none.status).toBe(201);
    ids[SIG_NONE] = ((await none.json()) as { alerts: { id: string }[] }).alerts[0].id;

    // The page refreshes itself: the matched alert, then (after the join's wait) the unmatched one.
    const row = page.locator(`#alert-${ids[SIG]}`);
    await waitFor(async () => (await row.count()) === 1 && (await row.locator('td.status').innerText()) === 'matched', 'the alert to show as matched', 15_000, 100);
    const c = await cells(ids[SIG]);
    expect(c[1]).toBe('api');
    expect(c[2]).toBe(String(SIG));
    expect(c[3]).toBe(`${SIGNATURE}\nTest`); // the markup as text, not as HTML
    expect(await row.locator('td.signature b').count()).toBe(0);
    expect(c[4]).toBe('1');
    expect(c[6]).toBe(`lo: 127.0.0.1:${CLIENT_PORT} → 127.0.0.1:${SERVER_PORT}\n${cid}`);
    expect(c[0]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\n/);
    const noneRow = page.locator(`#alert-${ids[SIG_NONE]}`);
    await waitFor(async () => (await noneRow.count()) === 1 && (await noneRow.locator('td.status').innerText()).startsWith('unmatched'), 'the alert for no flow to end unmatched', 20_000, 100);
    expect(await noneRow.locator('td.status').innerText()).toBe('unmatched (no-flow)\nno flow with its 5-tuple on any packet interface');
    expect(await noneRow.locator('td.flow').innerText()).toBe('—');
    expect(await noneRow.getByRole('link', { name: 'pcap' }).count()).toBe(0);
    // Newest first.
    expect(await page.locator('#alerts tr').evaluateAll((trs) => trs.map((t) => t.id))).toEqual([`alert-${ids[SIG_NONE]}`, `alert-${ids[SIG]}`]);
    expect(await page.locator('#alerts-total').innerText()).toBe('2 alerts');

    // The counters and the conditional store's figures.
    const counters = page.locator('#alert-counters');
    expect(await counters.locator('td.by-source.api').innerText()).toBe('api 2');
    expect(await counters.locator('td.by-source.eve-file').innerText()).toBe('eve-file 0');
    expect(await counters.locator('td.matched-count').innerText()).toBe('1');
    expect(await counters.locator('td.unmatched.no-flow').innerText()).toBe('no-flow 1');
    expect(await counters.locator('td.refused').innerText()).toBe('none');
    await waitFor(async () => (await page.locator('#conditional td.alerted-flows').innerText()) === '1', 'the store to follow the alerted flow', 15_000, 100);
    expect(await page.locator('#conditional td.flows-alerted').innerText()).toMatch(/^1 /);
    expect(await page.locator('#conditional td.rotations').innerText()).toBe('0');
    expect(await page.locator('#conditional-lo td').first().innerText()).toBe('lo');
    await page.screenshot({ path: join(out, 'alerts.png'), fullPage: true });
  }, 60_000);

  it('filters by signature id and by Community ID, refusing a bad one in words', async () => {
    await page.getByLabel('Signature id').fill(String(SIG_NONE));
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/signature_id=9712/);
    expect(await page.locator('#alerts tr').evaluateAll((trs) => trs.map((t) => t.id))).toEqual([`alert-${ids[SIG_NONE]}`]);
    expect(await page.locator('#alerts-total').innerText()).toBe('1 alert');

    await page.getByLabel('Signature id').fill('');
    await page.getByLabel('Community ID').fill(cid);
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/community_id=/);
    expect(await page.locator('#alerts tr').evaluateAll((trs) => trs.map((t) => t.id))).toEqual([`alert-${ids[SIG]}`]);

    await page.getByLabel('Community ID').fill('<i>x</i>');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/community_id=%3Ci%3E/);
    expect(await page.locator('.error').innerText()).toBe('community id "<i>x</i>" is not a Community ID v1 (1: and 28 base64 characters)');
    expect(await page.locator('main i').count()).toBe(0);
    expect(await page.getByLabel('Community ID').inputValue()).toBe('<i>x</i>');
    await page.getByRole('link', { name: 'All alerts' }).click();
    await page.waitForURL(/\/alerts$/);
    expect(await page.locator('#alerts-total').innerText()).toBe('2 alerts');
  }, 30_000);

  it('lists the rules read-only', async () => {
    const rules = [{ signatureId: 9720, signature: 'curl to <port> 22', severity: 2, match: { process: 'curl', serverPort: 22 }, count: 5, windowSeconds: 10 }];
    const r = await fb.api('/api/v1/rules', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rules }) });
    expect(r.status).toBe(200);
    await page.reload();
    expect(await page.locator('#rule-9720 td').allInnerTexts()).toEqual(['9720', 'curl to <port> 22', '2', 'process=curl, serverPort=22', 'at 5 matches of one process within 10 s']);
    expect(await page.locator('#rules form, #rules input, #rules button').count()).toBe(0);
  }, 30_000);

  it('links the flow to its flows page and downloads its packets from the pcap link', async () => {
    await sendUdp(CLIENT_PORT, SERVER_PORT, after);
    await waitFor(() => received.length === before.length + after.length, 'the datagrams at the listener');
    const row = page.locator(`#alert-${ids[SIG]}`);

    const pcap = await waitFor(async () => {
      const [d] = await Promise.all([page.waitForEvent('download'), row.getByRole('link', { name: 'pcap', exact: true }).click()]);
      const file = join(out, `alert-${Date.now()}.pcap`);
      await d.saveAs(file);
      const packets = tsharkRead(file);
      return packets.length && packets.at(-1)!.payload.equals(after.at(-1)!) ? packets : undefined;
    }, 'the last datagram in the flow\'s pcap', 15_000, 300);
    // Only this flow's datagrams, in order: every one sent after the alert, and those before it the look-back kept.
    expect(pcap.every((p) => p.protocol === 'udp' && p.srcPort === CLIENT_PORT && p.dstPort === SERVER_PORT)).toBe(true);
    const sent = [...before, ...after];
    const got = pcap.map((p) => p.payload);
    expect(got).toEqual(sent.slice(sent.length - got.length));
    expect(got.length).toBeGreaterThanOrEqual(after.length);
    expect(await page.locator('#conditional td.stored-bytes').innerText()).toMatch(/^\d[\d,.]* (bytes|kB) of .* captured \([\d.]+%\)$/);

    await row.getByRole('link', { name: 'flow', exact: true }).click();
    await page.waitForURL(/\/interfaces\/0\/flows\?communityId=/);
    const flows = page.locator('#flows tr');
    expect(await flows.count()).toBe(1);
    expect((await flows.locator('td').allInnerTexts()).slice(0, 2)).toEqual([`127.0.0.1:${CLIENT_PORT}`, `127.0.0.1:${SERVER_PORT}`]);
  }, 40_000);
});
