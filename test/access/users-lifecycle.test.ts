// Users across the life of the collector: with none configured the loopback rule holds
// and the local operator creates the first user, after which every call needs a
// credential; tokens and changes survive a restart, a config user an admin deleted stays
// deleted; and the audit log rotates by size, read back newest first across both files.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { parseCli } from '../../src/cli.ts';
import { AuditLog } from '../../src/api/packet-access.ts';
import { readConfigFile, resolveConfig } from '../../src/config.ts';
import { startFlowbridge } from '../../src/flowbridge.ts';

async function start(dataDir: string, configFile?: string) {
  const log: string[] = [];
  const cli = parseCli(['--http', '127.0.0.1:0', '--data-dir', dataDir, '-i', 'tcp://127.0.0.1:16540c', ...(configFile ? ['--config', configFile] : [])], {});
  const fb = await startFlowbridge(resolveConfig(configFile ? readConfigFile(configFile) : {}, cli.flags), { log: (l) => log.push(l) });
  const api = (path: string, init: RequestInit & { token?: string } = {}) =>
    fetch(`${fb.url}${path}`, { ...init, redirect: 'manual', headers: { ...(init.body ? { 'content-type': 'application/json' } : {}), ...(init.token ? { authorization: `Bearer ${init.token}` } : {}) } });
  return { fb, log, api };
}

it('with no users the local operator may do everything and creates the first user; then every call needs a credential', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fb-users-'));
  const { fb, log, api } = await start(dataDir);
  try {
    expect(log).toContain('  API without a token: served on loopback only (set --api-token to serve it elsewhere)');
    expect((await api('/api/v1/users')).status).toBe(200);
    expect((await api('/api/v1/users', { method: 'POST', body: JSON.stringify({ name: 'root', roles: ['admin'], password: 'root-password' }) })).status).toBe(201);
    expect((await api('/api/v1/status')).status).toBe(401);
    expect((await api('/')).headers.get('location')).toBe('/login?next=%2F');
    // The last user cannot be deleted: that would open the API again.
    const login = await fetch(`${fb.url}/login`, { method: 'POST', redirect: 'manual', headers: { origin: fb.url! }, body: new URLSearchParams({ user: 'root', password: 'root-password', next: '/' }) });
    const cookie = login.headers.get('set-cookie')!.split(';')[0];
    const last = await fetch(`${fb.url}/api/v1/users/root`, { method: 'DELETE', headers: { cookie } });
    expect(last.status).toBe(409);
    expect(await last.json()).toEqual({ error: expect.stringMatching(/^root is the last user: with none, the API would fall back/) });
    expect((await fetch(`${fb.url}/api/v1/status`, { headers: { cookie } })).status).toBe(200);
  } finally {
    await fb.stop();
  }
});

it('keeps tokens and changes across a restart; a config user an admin deleted is not added again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fb-users-'));
  const configFile = join(dir, 'config.json');
  const { hashPassword } = await import('../../src/access/password.ts');
  writeFileSync(configFile, JSON.stringify({ users: [
    { name: 'boss', roles: ['admin'], password: hashPassword('boss-password') },
    { name: 'temp', roles: ['viewer'], grants: ['pcap'] },
  ] }));
  const dataDir = join(dir, 'data');
  let run = await start(dataDir, configFile);
  // Signed in with the password the config file gives as a hash (no warning for a hash).
  expect(run.log.some((l) => l.includes('plain-text password'))).toBe(false);
  const login = await fetch(`${run.fb.url}/login`, { method: 'POST', redirect: 'manual', headers: { origin: run.fb.url! }, body: new URLSearchParams({ user: 'boss', password: 'boss-password', next: '/' }) });
  expect(login.status).toBe(303);
  const cookie = login.headers.get('set-cookie')!.split(';')[0];
  const made = await fetch(`${run.fb.url}/api/v1/users/boss/tokens`, { method: 'POST', headers: { cookie } });
  expect(made.status).toBe(201);
  const { token } = (await made.json()) as { token: string };
  expect((await run.api('/api/v1/users/temp', { method: 'DELETE', token })).status).toBe(204);
  expect((await run.api('/api/v1/users/boss', { method: 'PATCH', token, body: JSON.stringify({ grants: ['capture'] }) })).status).toBe(200);
  await run.fb.stop();

  run = await start(dataDir, configFile);
  try {
    const users = (await (await run.api('/api/v1/users', { token })).json()) as { users: { name: string; grants: string[] }[] };
    expect(users.users).toEqual([expect.objectContaining({ name: 'boss', grants: ['capture'] })]);
    // A page session does not outlive the process; the token does.
    expect((await fetch(`${run.fb.url}/api/v1/status`, { headers: { cookie } })).status).toBe(401);
  } finally {
    await run.fb.stop();
  }
});

it('rotates the audit log by size and reads it back newest first across both files', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'fb-audit-')), 'audit.log');
  const audit = new AuditLog(path, 1000);
  for (let i = 0; i < 30; i++) audit.write({ user: 'u', action: 'test', target: String(i), result: 'ok' });
  expect(audit.rotations).toBeGreaterThan(0);
  expect(existsSync(`${path}.1`)).toBe(true);
  expect(readFileSync(path, 'utf8').length).toBeLessThanOrEqual(1000);
  const recent = audit.recent(12).map((e) => e.target);
  expect(recent).toEqual(Array.from({ length: 12 }, (_, i) => String(29 - i)));
  // A reopened log goes on from the file's size.
  const again = new AuditLog(path, 1000);
  again.write({ user: 'u', action: 'test', target: '30', result: 'ok' });
  expect(again.recent(1)[0].target).toBe('30');
});
