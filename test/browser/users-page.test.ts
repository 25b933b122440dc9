// The Users page in headless Chromium: the local admin (the API token, no users yet)
// creates a user with roles, a grant and a password, makes a token that is shown once,
// revokes it, and the new user signs in with the password and is named in the header.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchChromium } from '../support/chromium.ts';
import { startWithFlags } from '../support/flowbridge.ts';

const TOKEN = 'users-page-token';
let fb: Awaited<ReturnType<typeof startWithFlags>>;
let browser: Browser;

beforeAll(async () => {
  fb = await startWithFlags(['-i', 'tcp://127.0.0.1:16560c', '--api-token', TOKEN]);
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await fb?.stop();
});

it('creates a user, shows a token once, revokes it, and the user signs in with the password', async () => {
  const admin = await (await browser.newContext()).newPage();
  await admin.goto(`${fb.url}/login?next=%2Fusers`);
  await admin.locator('input[name=token]').fill(TOKEN);
  await admin.getByRole('button', { name: 'Sign in' }).click();
  await admin.waitForURL(/\/users$/);
  expect(await admin.locator('main').innerText()).toContain('No users: the API token may do everything');

  const form = admin.locator('form#create-user');
  await form.locator('input[name=name]').fill('ops');
  await form.locator('input[name=roles][value=viewer]').uncheck();
  await form.locator('input[name=roles][value=operator]').check();
  await form.locator('input[name=grants][value=pcap]').check();
  await form.locator('input[name=password]').fill('ops-password-1');
  await form.getByRole('button', { name: 'Create user' }).click();
  await admin.locator('.note', { hasText: 'User ops created (operator, pcap).' }).waitFor();
  const row = admin.locator('tr[data-user=ops]');
  expect(await row.locator('td').nth(2).innerText()).toBe('pcap');
  expect(await row.locator('td').nth(3).innerText()).toBe('set');
  // Users are in charge now: the token is an admin without pcap, and the header says so.
  expect(await admin.locator('#signed-in').innerText()).toMatch(/API token\s+\(admin\)/);

  await row.getByRole('button', { name: 'New token' }).click();
  const token = await admin.locator('#token-value').innerText();
  expect(token).toMatch(/^fbt_[0-9a-f]{12}_/);
  expect((await fetch(`${fb.url}/api/v1/status`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  await admin.goto(`${fb.url}/users`);
  expect(await admin.content()).not.toContain(token);
  await admin.locator('tr[data-user=ops]').getByRole('button', { name: 'Revoke' }).click();
  await admin.locator('.note', { hasText: /Token [0-9a-f]{12} of ops revoked\./ }).waitFor();
  expect((await fetch(`${fb.url}/api/v1/status`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);

  const ops = await (await browser.newContext()).newPage();
  await ops.goto(`${fb.url}/exporters`);
  await ops.waitForURL(/\/login\?next=%2Fexporters$/);
  await ops.locator('input[name=user]').fill('ops');
  await ops.locator('input[name=password]').fill('wrong-password');
  await ops.getByRole('button', { name: 'Sign in' }).click();
  await ops.locator('.error', { hasText: 'The user name or the password is wrong.' }).waitFor();
  await ops.locator('input[name=user]').fill('ops');
  await ops.locator('input[name=password]').fill('ops-password-1');
  await ops.getByRole('button', { name: 'Sign in' }).click();
  await ops.waitForURL(/\/exporters$/);
  expect(await ops.locator('#signed-in').innerText()).toMatch(/ops\s+\(operator, pcap\)/);
  // No Users link for an operator, and the page itself is refused naming the role.
  expect(await ops.locator('#signed-in a[href="/users"]').count()).toBe(0);
  const refused = await ops.goto(`${fb.url}/users`);
  expect(refused!.status()).toBe(403);
  expect(await ops.locator('body').innerText()).toContain('needs the admin role');

  // Another user, so that deleting ops leaves users in charge (with none, the token rule of before applies again).
  expect((await fetch(`${fb.url}/api/v1/users`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'keeper', roles: ['viewer'] }) })).status).toBe(201);
  await admin.locator('tr[data-user=ops]').getByRole('button', { name: 'Delete' }).click();
  await admin.locator('.note', { hasText: 'User ops deleted, with their tokens.' }).waitFor();
  await ops.goto(`${fb.url}/exporters`);
  expect(ops.url()).toMatch(/\/login\?next=%2Fexporters$/);
}, 60_000);
