// Users, roles and permissions over real HTTP: every existing route × every kind of
// user → the status each gets (401 without a credential, 403 naming the missing role or
// permission), the token lifecycle, password sign-in, no secret in clear in the data
// directory, and the audit log holding this test's actions in order.
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCli } from '../../src/cli.ts';
import { readConfigFile, resolveConfig } from '../../src/config.ts';
import { startFlowbridge, type RunningFlowbridge } from '../../src/flowbridge.ts';
import { frame, writePcap } from '../support/packets.ts';

const API_TOKEN = 'api-token-of-the-test';
const ALICE_PASSWORD = 'alice-plain-password';
const dir = mkdtempSync(join(tmpdir(), 'fb-access-'));
const dataDir = join(dir, 'data');
let fb: RunningFlowbridge & { url: string };
const log: string[] = [];
/** Every secret this test sees: none may be found in the data directory. */
const secrets: string[] = [API_TOKEN, ALICE_PASSWORD];

const call = (path: string, init: RequestInit & { token?: string } = {}) => {
  const headers = new Headers(init.headers);
  if (init.token) headers.set('authorization', `Bearer ${init.token}`);
  if (init.body !== undefined && !headers.has('content-type')) headers.set('content-type', typeof init.body === 'string' ? 'application/json' : 'application/x-www-form-urlencoded');
  if (init.method && init.method !== 'GET' && !path.startsWith('/api/')) headers.set('origin', fb.url);
  return fetch(`${fb.url}${path}`, { ...init, headers, redirect: 'manual' });
};
const json = (body: unknown) => JSON.stringify(body);

/** The users of the table, each with a token made for them over the API. */
const USERS = {
  viewer: { roles: ['viewer'] },
  operator: { roles: ['operator'] },
  admin: { roles: ['admin'] },
  adminPcap: { roles: ['admin'], grants: ['pcap'] },
  opCapPcap: { roles: ['operator'], grants: ['capture', 'pcap'] },
  denied: { roles: ['viewer'], grants: ['pcap'], deny: ['pcap'] },
} as const;
type Who = 'none' | 'apiToken' | keyof typeof USERS;
const COLUMNS: Who[] = ['none', 'viewer', 'operator', 'admin', 'adminPcap', 'opCapPcap', 'denied', 'apiToken'];
const tokens: Partial<Record<Who, string>> = {};

beforeAll(async () => {
  const pcap = join(dir, 'trace.pcap');
  writePcap(pcap, [frame({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 'udp', sport: 1000, dport: 2000, payload: 40 })]);
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, json({ users: [{ name: 'alice', roles: ['admin'], password: ALICE_PASSWORD }] }));
  const cli = parseCli(['--config', configFile, '--http', '127.0.0.1:0', '--data-dir', dataDir, '-i', `pcap:${pcap}`, '--api-token', API_TOKEN], {});
  const config = resolveConfig(readConfigFile(cli.configFile!), cli.flags);
  fb = (await startFlowbridge(config, { log: (l) => log.push(l) })) as RunningFlowbridge & { url: string };
  tokens.apiToken = API_TOKEN;
  for (const [name, spec] of Object.entries(USERS)) {
    const created = await call('/api/v1/users', { method: 'POST', token: API_TOKEN, body: json({ name, ...spec }) });
    expect(created.status, name).toBe(201);
    const t = (await (await call(`/api/v1/users/${name}/tokens`, { method: 'POST', token: API_TOKEN })).json()) as { id: string; token: string };
    tokens[name as Who] = t.token;
    secrets.push(t.token);
  }
});
afterAll(async () => {
  await fb?.stop();
});

it('says at start-up that users are in charge, and that a plain-text password was hashed', () => {
  expect(log).toContainEqual(expect.stringMatching(/user alice: the config file gives a plain-text password; it is kept hashed .* by this hash: scrypt\$/));
  expect(log).toContainEqual(expect.stringMatching(/API and pages: 1 user \(users\.json\); every call needs a user's token or a signed-in page, or --api-token \(an admin without capture or pcap\)/));
});

// route × user → status; "403:x" is a refusal naming x as missing.
//                                                              none  viewer       operator     admin        adminPcap    opCapPcap    denied       apiToken
const TABLE: [string, string, unknown, string[]][] = [
  ['GET', '/api/v1/interfaces', undefined, ['401', '200', '200', '200', '200', '200', '200', '200']],
  ['GET', '/api/v1/status', undefined, ['401', '200', '200', '200', '200', '200', '200', '200']],
  ['GET', '/api/v1/exporters', undefined, ['401', '200', '200', '200', '200', '200', '200', '200']],
  ['GET', '/api/v1/interfaces/0/flows', undefined, ['401', '200', '200', '200', '200', '200', '200', '200']],
  ['GET', '/api/v1/interfaces/0/recording', undefined, ['401', '200', '200', '200', '200', '200', '200', '200']],
  ['GET', '/api/v1/extractions', undefined, ['401', '200', '200', '200', '200', '200', '200', '200']],
  ['GET', '/api/v1/push-targets', undefined, ['401', '200', '200', '200', '200', '200', '200', '200']],
  ['GET', '/api/v1/alerts', undefined, ['401', '200', '200', '200', '200', '200', '200', '200']],
  ['GET', '/metrics', undefined, ['401', '200', '200', '200', '200', '200', '200', '200']],
  ['GET', '/', undefined, ['302', '200', '200', '200', '200', '200', '200', '200']],
  ['GET', '/healthz', undefined, ['200', '200', '200', '200', '200', '200', '200', '200']],
  ['PATCH', '/api/v1/interfaces/0', { mirrored: true }, ['401', '403:operator', '200', '200', '200', '200', '403:operator', '200']],
  ['POST', '/interfaces/0/settings', new URLSearchParams({ setting: 'mirrored', mirrored: 'on' }), ['401', '403:operator', '303', '303', '303', '303', '403:operator', '303']],
  ['PATCH', '/api/v1/interfaces/0/recording', { maxDiskSpace: 'lots' }, ['401', '403:operator', '400', '400', '400', '400', '403:operator', '400']],
  ['POST', '/api/v1/extractions', {}, ['401', '403:operator', '400', '400', '400', '400', '403:operator', '400']],
  ['POST', '/api/v1/extractions/nope/stop', undefined, ['401', '403:operator', '404', '404', '404', '404', '403:operator', '404']],
  ['DELETE', '/api/v1/extractions/nope', undefined, ['401', '403:operator', '404', '404', '404', '404', '403:operator', '404']],
  ['POST', '/api/v1/push-targets', {}, ['401', '403:operator', '400', '400', '400', '400', '403:operator', '400']],
  ['DELETE', '/api/v1/push-targets/nope', undefined, ['401', '403:operator', '404', '404', '404', '404', '403:operator', '404']],
  ['POST', '/api/v1/alerts', { event_type: 'dns' }, ['401', '403:operator', '400', '400', '400', '400', '403:operator', '400']],
  ['GET', '/api/v1/users', undefined, ['401', '403:admin', '403:admin', '200', '200', '403:admin', '403:admin', '200']],
  ['POST', '/api/v1/users', { name: 'x' }, ['401', '403:admin', '403:admin', '400', '400', '403:admin', '403:admin', '400']],
  ['PATCH', '/api/v1/users/nobody', { roles: [] }, ['401', '403:admin', '403:admin', '404', '404', '403:admin', '403:admin', '404']],
  ['DELETE', '/api/v1/users/nobody', undefined, ['401', '403:admin', '403:admin', '404', '404', '403:admin', '403:admin', '404']],
  ['POST', '/api/v1/users/nobody/tokens', undefined, ['401', '403:admin', '403:admin', '404', '404', '403:admin', '403:admin', '404']],
  ['DELETE', '/api/v1/users/nobody/tokens/abc', undefined, ['401', '403:admin', '403:admin', '404', '404', '403:admin', '403:admin', '404']],
  ['GET', '/api/v1/audit?limit=1', undefined, ['401', '403:admin', '403:admin', '200', '200', '403:admin', '403:admin', '200']],
  ['GET', '/users', undefined, ['302', '403:admin', '403:admin', '200', '200', '403:admin', '403:admin', '200']],
  // Packets: the pcap permission only (admin and the API token lack it; a deny beats the grant).
  ['GET', '/api/v1/interfaces/0/pcap?begin=1&end=2', undefined, ['401', '403:pcap', '403:pcap', '403:pcap', '400', '400', '403:pcap', '403:pcap']],
  ['GET', '/lua/live_traffic_extraction.lua?ifid=0&epoch_begin=1&epoch_end=2', undefined, ['401', '403:pcap', '403:pcap', '403:pcap', '400', '400', '403:pcap', '403:pcap']],
  ['GET', '/lua/rest/v2/get/pcap/live_extraction.lua?ifid=0&epoch_begin=1&epoch_end=2', undefined, ['401', '403:pcap', '403:pcap', '403:pcap', '400', '400', '403:pcap', '403:pcap']],
  ['GET', '/api/v1/extractions/nope/files/1', undefined, ['401', '403:pcap', '403:pcap', '403:pcap', '404', '404', '403:pcap', '403:pcap']],
  ['GET', '/api/v1/captures/capture-2026-01-01_00-00-00.pcap0', undefined, ['401', '403:pcap', '403:pcap', '403:pcap', '404', '404', '403:pcap', '403:pcap']],
  ['GET', '/api/v1/alerts/nope/pcap', undefined, ['401', '403:pcap', '403:pcap', '403:pcap', '404', '404', '403:pcap', '403:pcap']],
  ['GET', '/api/v1/conditional-pcap/nope/download', undefined, ['401', '403:pcap', '403:pcap', '403:pcap', '404', '404', '403:pcap', '403:pcap']],
  // On-demand capture: the capture permission only (interface 0 replays a file, which cannot be captured on: 400).
  ['GET', '/api/v1/captures', undefined, ['401', '200', '200', '200', '200', '200', '200', '200']],
  ['POST', '/api/v1/interfaces/0/capture/start', { filter: 'udp', maxCaptureMB: 20 }, ['401', '403:capture', '403:capture', '403:capture', '403:capture', '400', '403:capture', '403:capture']],
  ['DELETE', '/api/v1/captures/capture-2026-01-01_00-00-00.pcap0', undefined, ['401', '403:capture', '403:capture', '403:capture', '403:capture', '404', '403:capture', '403:capture']],
  // Alert rules and conditional-pcap settings: operators.
  ['PUT', '/api/v1/rules', { rules: [] }, ['401', '403:operator', '200', '200', '200', '200', '403:operator', '200']],
  ['PATCH', '/api/v1/conditional-pcap', { colour: 'red' }, ['401', '403:operator', '400', '400', '400', '400', '403:operator', '400']],
];

describe('route × user → status', () => {
  for (const [method, path, body, expected] of TABLE) {
    it(`${method} ${path}`, async () => {
      const got: string[] = [];
      for (const who of COLUMNS) {
        const r = await call(path, { method, token: tokens[who], body: body === undefined ? undefined : body instanceof URLSearchParams ? body : json(body) });
        if (r.status === 403) {
          const b = (await r.json()) as { error: string; missing: string };
          expect(b.error, `${who}: ${b.error}`).toContain(b.missing);
          got.push(`403:${b.missing}`);
        } else got.push(String(r.status));
      }
      expect(Object.fromEntries(COLUMNS.map((c, i) => [c, got[i]]))).toEqual(Object.fromEntries(COLUMNS.map((c, i) => [c, expected[i]])));
    });
  }

  it('says why: admin lacks pcap (no role includes it), the deny beats the grant, a wrong token is not one', async () => {
    const asAdmin = await call('/api/v1/interfaces/0/pcap?begin=1&end=2', { token: tokens.admin });
    expect(await asAdmin.json()).toEqual({ missing: 'pcap', error: 'user admin needs the pcap permission for this (an admin grants it per user: PATCH /api/v1/users/admin {"grants": ["pcap"]}; no role includes it)' });
    const asDenied = await call('/api/v1/interfaces/0/pcap?begin=1&end=2', { token: tokens.denied });
    expect(await asDenied.json()).toEqual({ missing: 'pcap', error: 'user denied is denied the pcap permission (a deny beats any grant)' });
    const wrong = await call('/api/v1/interfaces', { token: `${tokens.viewer!.slice(0, -2)}xx` });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ error: 'the token is not valid (unknown, revoked, or expired)' });
    expect(await (await call('/api/v1/interfaces')).json()).toEqual({ error: expect.stringMatching(/^this call needs "Authorization: Bearer <token>"/) });
  });
});

describe('users and tokens', () => {
  it('shows a token once, takes it, and refuses it once revoked', async () => {
    secrets.push('carol-password-1');
    const created = await call('/api/v1/users', { method: 'POST', token: tokens.admin, body: json({ name: 'carol', roles: ['viewer'], password: 'carol-password-1' }) });
    expect(created.status).toBe(201);
    const shown = await created.text();
    expect(JSON.parse(shown)).toEqual({ name: 'carol', roles: ['viewer'], grants: [], deny: [], permissions: [], password: true, tokens: [], source: 'api' });
    expect(shown).not.toContain('scrypt');
    const t = (await (await call('/api/v1/users/carol/tokens', { method: 'POST', token: tokens.admin })).json()) as { id: string; token: string };
    secrets.push(t.token);
    expect(t.token).toMatch(/^fbt_[0-9a-f]{12}_/);
    const listed = await (await call('/api/v1/users', { token: tokens.admin })).text();
    expect(listed).toContain(t.id);
    expect(listed).not.toContain(t.token);
    expect((await call('/api/v1/status', { token: t.token })).status).toBe(200);
    expect((await call(`/api/v1/users/carol/tokens/${t.id}`, { method: 'DELETE', token: tokens.admin })).status).toBe(204);
    expect((await call('/api/v1/status', { token: t.token })).status).toBe(401);
    expect((await call(`/api/v1/users/carol/tokens/${t.id}`, { method: 'DELETE', token: tokens.admin })).status).toBe(404);
  });

  it('refuses bad users naming what is wrong, and changes nothing', async () => {
    const bad = async (body: unknown, error: RegExp) => {
      const r = await call('/api/v1/users', { method: 'POST', token: tokens.admin, body: json(body) });
      expect(r.status).toBe(400);
      expect(((await r.json()) as { error: string }).error).toMatch(error);
    };
    await bad({ name: 'dave', roles: ['root'] }, /roles must be a list of viewer, operator, admin/);
    await bad({ name: 'dave', roles: [], grants: ['everything'] }, /grants must be a list of capture, pcap/);
    await bad({ name: 'dave', roles: [], password: 'short' }, /password must be a string of at least 8 characters/);
    await bad({ name: '../dave', roles: [] }, /is not a user name/);
    await bad({ name: 'dave', roles: [], admin: true }, /unknown field admin/);
    expect((await call('/api/v1/users', { method: 'POST', token: tokens.admin, body: json({ name: 'carol', roles: [] }) })).status).toBe(409);
    const names = ((await (await call('/api/v1/users', { token: tokens.admin })).json()) as { users: { name: string }[] }).users.map((u) => u.name);
    expect(names).not.toContain('dave');
  });

  it('a grant given later takes effect at once; a deny added takes it away', async () => {
    expect((await call('/api/v1/interfaces/0/pcap?begin=1&end=2', { token: tokens.viewer })).status).toBe(403);
    expect((await call('/api/v1/users/viewer', { method: 'PATCH', token: tokens.admin, body: json({ grants: ['pcap'] }) })).status).toBe(200);
    expect((await call('/api/v1/interfaces/0/pcap?begin=1&end=2', { token: tokens.viewer })).status).toBe(400); // allowed: the interface does not record
    expect(await (await call('/api/v1/users/viewer', { method: 'PATCH', token: tokens.admin, body: json({ deny: ['pcap'] }) })).json()).toMatchObject({ grants: ['pcap'], deny: ['pcap'], permissions: [] });
    expect((await call('/api/v1/interfaces/0/pcap?begin=1&end=2', { token: tokens.viewer })).status).toBe(403);
  });
});

describe('signing in with a password', () => {
  const signIn = (user: string, password: string) => call('/login', { method: 'POST', body: new URLSearchParams({ user, password, next: '/exporters' }) });

  it('sets the cookie that opens the pages, and shows who is signed in', async () => {
    const r = await signIn('alice', ALICE_PASSWORD);
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/exporters');
    const cookie = r.headers.get('set-cookie')!.split(';')[0];
    const page = await call('/exporters', { headers: { cookie } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toMatch(/<span id="signed-in" class="who"><a href="\/users">Users<\/a><span title="admin">alice<\/span>/);
    // Sign out ends the session.
    expect((await call('/logout', { method: 'POST', headers: { cookie } })).status).toBe(303);
    expect((await call('/exporters', { headers: { cookie } })).status).toBe(302);
  });

  it('refuses a wrong password, says so on the form, and audits it as failed', async () => {
    const r = await signIn('alice', 'not-her-password');
    expect(r.status).toBe(303);
    expect(r.headers.get('set-cookie')).toBeNull();
    const form = await (await call(r.headers.get('location')!)).text();
    expect(form).toContain('<div class="error">The user name or the password is wrong.</div>');
    const [last] = ((await (await call('/api/v1/audit?limit=1', { token: tokens.admin })).json()) as { entries: Record<string, unknown>[] }).entries;
    expect(last).toMatchObject({ user: 'alice', action: 'login', result: 'failed: wrong user or password', address: '127.0.0.1' });
    expect(JSON.stringify(last)).not.toContain('not-her-password');
  });
});

describe('what is kept', () => {
  it('keeps no token or password in clear anywhere in the data directory', () => {
    const files = (d: string): string[] => readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? files(join(d, f)) : [join(d, f)]));
    const all = files(dataDir);
    expect(all.map((f) => f.slice(dataDir.length))).toEqual(expect.arrayContaining(['/users.json', '/audit.log']));
    for (const file of all) {
      const text = readFileSync(file, 'latin1');
      for (const s of secrets) expect(text.includes(s), `${s} in ${file}`).toBe(false);
    }
    const users = JSON.parse(readFileSync(join(dataDir, 'users.json'), 'utf8')) as { users: { name: string; passwordHash?: string; tokens: { sha256: string }[] }[] };
    expect(users.users.find((u) => u.name === 'alice')!.passwordHash).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(statSync(join(dataDir, 'users.json')).mode & 0o077).toBe(0);
  });

  it('holds the actions of this test in order, newest first over the API', async () => {
    const lines = readFileSync(join(dataDir, 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const brief = lines.map((l) => `${l.user} ${l.action} ${l.target ?? ''} ${String(l.result).split(':')[0]}`);
    const expectedInOrder = [
      'token user.create viewer ok', 'token token.create viewer ok', 'token user.create denied ok',
      'anonymous interface.change 0 401', 'viewer interface.change 0 403', 'operator interface.change 0 ok',
      'adminPcap pcap.download /api/v1/interfaces/0/pcap 400', 'admin pcap.download /api/v1/interfaces/0/pcap 403', 'denied pcap.download /api/v1/interfaces/0/pcap 403',
      'admin user.create carol ok', 'admin token.create carol ok', 'admin token.revoke carol ok',
      'admin user.update viewer ok', 'alice login alice ok', 'alice login alice failed',
    ];
    let at = 0;
    for (const want of expectedInOrder) {
      const [user, action, target, result] = want.split(' ');
      const found = lines.findIndex((l, i) => i >= at && l.user === user && l.action === action && String(l.target ?? '').startsWith(target) && String(l.result).split(':')[0] === result);
      expect(found, `${want} after line ${at}:\n${brief.join('\n')}`).toBeGreaterThanOrEqual(0);
      at = found + 1;
    }
    const tokenLine = lines.find((l) => l.action === 'token.create' && String(l.target).startsWith('carol/'))!;
    expect(tokenLine).toMatchObject({ user: 'admin', result: 'ok', address: '127.0.0.1', route: '/api/v1/users/carol/tokens' });
    expect(lines.find((l) => l.action === 'user.create' && l.target === 'viewer')).toMatchObject({ parameters: { name: 'viewer', roles: ['viewer'] } });
    expect(lines.find((l) => l.action === 'user.create' && l.target === 'carol')).toMatchObject({ user: 'admin', parameters: { name: 'carol', password: '(set)' }, result: 'ok' });

    const api = (await (await call('/api/v1/audit?limit=3', { token: tokens.admin })).json()) as { entries: { time: string }[] };
    expect(api.entries).toHaveLength(3);
    expect(api.entries.map((e) => e.time)).toEqual([...api.entries.map((e) => e.time)].sort().reverse());
    expect((await call('/api/v1/audit?limit=0', { token: tokens.admin })).status).toBe(400);
  });
});
