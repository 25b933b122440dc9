// Signing in over real HTTP, from several loopback addresses (127.0.0.x, so the
// throttle's per-address keys are real): the cookie carries a random session id for
// password and token sign-ins alike, never the token; the session ends at sign-out,
// when the token is revoked, the user removed or the password changed; 30 wrong
// passwords in a row are answered 429 with Retry-After after the fifth, for the user
// name from any address and for the address with any user name, and leave their trace
// in the audit log and on /metrics; the return address is a path of this server only.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseCli } from '../../src/cli.ts';
import { readConfigFile, resolveConfig } from '../../src/config.ts';
import { startFlowbridge } from '../../src/flowbridge.ts';
import { startWithFlags } from '../support/flowbridge.ts';
import { waitFor } from '../support/wait.ts';

const ADMIN = 'logins-test-admin-token';
let fb: Awaited<ReturnType<typeof startWithFlags>>;
const admin = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };

interface Answer { status: number; location?: string; cookie?: string; retryAfter?: string; body: string }

/** An HTTP request from `from` (a loopback address of this host). */
function call(method: string, path: string, from: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${fb.url}${path}`, { method, localAddress: from, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({
        status: res.statusCode!, location: res.headers.location, retryAfter: res.headers['retry-after'] as string | undefined, body: text,
        cookie: res.headers['set-cookie']?.[0]?.split(';')[0],
      }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The login form, as a browser on this server's page sends it. */
const signIn = (from: string, fields: Record<string, string>) =>
  call('POST', '/login', from, { origin: fb.url, 'content-type': 'application/x-www-form-urlencoded' }, new URLSearchParams({ next: '/', ...fields }).toString());
const withCookie = (cookie: string, from = '127.0.0.1') => call('GET', '/api/v1/status', from, { cookie });
const metrics = async () => (await call('GET', '/metrics', '127.0.0.1', { authorization: `Bearer ${ADMIN}` })).body.split('\n');

async function createUser(name: string, password: string): Promise<void> {
  const r = await fetch(`${fb.url}/api/v1/users`, { method: 'POST', headers: admin, body: JSON.stringify({ name, roles: ['viewer'], password }) });
  expect(r.status).toBe(201);
}
async function createToken(name: string): Promise<{ id: string; token: string }> {
  return (await (await fetch(`${fb.url}/api/v1/users/${name}/tokens`, { method: 'POST', headers: admin })).json()) as { id: string; token: string };
}

beforeAll(async () => {
  fb = await startWithFlags(['-i', 'tcp://127.0.0.1:16587c', '--api-token', ADMIN]);
  for (const name of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank']) await createUser(name, `${name}-password`);
});
afterAll(async () => {
  await fb?.stop();
});

it('puts a random session id in the cookie for a token sign-in, never the token', async () => {
  const { id, token } = await createToken('alice');
  const r = await signIn('127.0.0.11', { token });
  expect(r.status).toBe(303);
  const value = r.cookie!.split('=')[1];
  expect(r.cookie).toMatch(/^flowbridge_session=fbs_[A-Za-z0-9_-]{43}$/);
  expect(value).not.toContain(token);
  expect(value).not.toContain(id);
  expect((await withCookie(r.cookie!)).status).toBe(200);
  // The --api-token too.
  const api = await signIn('127.0.0.11', { token: ADMIN });
  expect(api.cookie).toMatch(/^flowbridge_session=fbs_/);
  expect(api.cookie).not.toContain(ADMIN);
  expect((await call('GET', '/api/v1/users', '127.0.0.1', { cookie: api.cookie! })).status).toBe(200);
  // A session id is not a token: pasted into the form, it opens nothing.
  expect((await signIn('127.0.0.11', { token: value })).location).toMatch(/^\/login\?/);
});

it('ends the session at sign-out: the old cookie no longer opens anything', async () => {
  const r = await signIn('127.0.0.12', { user: 'bob', password: 'bob-password' });
  expect(r.cookie).toMatch(/^flowbridge_session=fbs_/);
  expect((await withCookie(r.cookie!)).status).toBe(200);
  const out = await call('POST', '/logout', '127.0.0.12', { origin: fb.url, cookie: r.cookie! });
  expect(out).toMatchObject({ status: 303, location: '/login' });
  expect((await withCookie(r.cookie!)).status).toBe(401);
  expect((await call('GET', '/', '127.0.0.12', { cookie: r.cookie! })).location).toBe('/login?next=%2F');
});

it('ends the sessions opened with a token when it is revoked, and every session of a user removed or whose password changed', async () => {
  const { id, token } = await createToken('carol');
  const byToken = (await signIn('127.0.0.13', { token })).cookie!;
  const byPassword = (await signIn('127.0.0.13', { user: 'carol', password: 'carol-password' })).cookie!;
  expect((await fetch(`${fb.url}/api/v1/users/carol/tokens/${id}`, { method: 'DELETE', headers: admin })).status).toBe(204);
  expect((await withCookie(byToken)).status).toBe(401);
  // The password session is not the token's.
  expect((await withCookie(byPassword)).status).toBe(200);
  expect((await fetch(`${fb.url}/api/v1/users/carol`, { method: 'DELETE', headers: admin })).status).toBe(204);
  expect((await withCookie(byPassword)).status).toBe(401);

  const dave = (await signIn('127.0.0.13', { user: 'dave', password: 'dave-password' })).cookie!;
  expect((await withCookie(dave)).status).toBe(200);
  expect((await fetch(`${fb.url}/api/v1/users/dave`, { method: 'PATCH', headers: admin, body: JSON.stringify({ password: 'dave-new-password' }) })).status).toBe(200);
  expect((await withCookie(dave)).status).toBe(401);
});

it('sends the browser back only to a path of this server', async () => {
  for (const next of ['//evil.example/x', '/\\evil.example', 'https://evil', 'https://evil.example/x', '/%2F%2Fevil.example', '%2F%2Fevil.example', '/%5Cevil.example', '/%2F/evil.example', 'javascript:alert(1)', '\\/evil.example']) {
    const r = await call('POST', '/login', '127.0.0.14', { origin: fb.url, 'content-type': 'application/x-www-form-urlencoded' }, new URLSearchParams({ next, user: 'erin', password: 'erin-password' }).toString());
    expect(r, next).toMatchObject({ status: 303, location: '/' });
  }
  const ok = await call('POST', '/login', '127.0.0.14', { origin: fb.url, 'content-type': 'application/x-www-form-urlencoded' }, new URLSearchParams({ next: '/interfaces/0', user: 'erin', password: 'erin-password' }).toString());
  expect(ok.location).toBe('/interfaces/0');
});

it('answers 30 wrong passwords in a row with 429 and Retry-After after the fifth, per user name and per address, audited and counted', async () => {
  const answers: Answer[] = [];
  for (let i = 0; i < 30; i++) answers.push(await signIn('127.0.0.20', { user: 'erin', password: `guess-${i}` }));
  expect(answers.slice(0, 5).map((a) => a.status)).toEqual([303, 303, 303, 303, 303]);
  expect(answers.slice(0, 5).every((a) => a.location!.startsWith('/login?next=%2F&flash='))).toBe(true);
  expect(answers.slice(5).map((a) => a.status)).toEqual(Array(25).fill(429));
  for (const a of answers.slice(5)) expect(Number(a.retryAfter)).toBeGreaterThan(0);
  expect(answers[5].body).toMatch(/Too many failed sign-ins from this address and for this user name: try again in \d+ seconds\./);

  // Locked, the right password is not even checked; from another address too (the user name is locked).
  expect((await signIn('127.0.0.20', { user: 'erin', password: 'erin-password' })).status).toBe(429);
  expect((await signIn('127.0.0.21', { user: 'erin', password: 'erin-password' })).status).toBe(429);
  // The guessing address is locked for any user name; another address signs another user in.
  expect((await signIn('127.0.0.20', { user: 'bob', password: 'bob-password' })).status).toBe(429);
  expect((await signIn('127.0.0.21', { user: 'bob', password: 'bob-password' })).status).toBe(303);

  const audit = (await (await fetch(`${fb.url}/api/v1/audit?limit=1000`, { headers: admin })).json()) as { entries: { user: string; action: string; result: string; address?: string }[] };
  const erin = audit.entries.filter((e) => e.action === 'login' && e.user === 'erin' && e.address === '127.0.0.20');
  expect(erin.filter((e) => e.result === 'failed: wrong user or password')).toHaveLength(5);
  expect(erin.filter((e) => /^throttled: too many failed sign-ins (from this address and )?for this user name \((address 127\.0\.0\.20, )?user erin\); retry after \d+ s$/.test(e.result))).toHaveLength(26);

  const lines = await metrics();
  expect(lines).toContain('flowbridge_login_failures_total{reason="wrong-password"} 5');
  expect(lines).toContain('flowbridge_login_throttled_total 28');
  // The throttle's keys (the two addresses that failed, and erin's name) and the sessions are bounded tables.
  expect(lines).toContain('flowbridge_web_table_entries{table="login-throttle"} 3');
  expect(lines).toContain('flowbridge_web_table_bound_entries{table="login-throttle"} 10000');
  expect(lines).toContain('flowbridge_web_table_bound_entries{table="sessions"} 1000');
});

it('checks no more than five of 30 wrong passwords or tokens sent all at once: the rest are answered 429', async () => {
  const passwords = await Promise.all(Array.from({ length: 30 }, (_, i) => signIn('127.0.0.30', { user: 'frank', password: `guess-${i}` })));
  expect(passwords.filter((a) => a.status === 303)).toHaveLength(5);
  expect(passwords.filter((a) => a.status === 429 && Number(a.retryAfter) > 0)).toHaveLength(25);
  const tokens = await Promise.all(Array.from({ length: 30 }, (_, i) => signIn('127.0.0.31', { token: `fbt_000000000000_${'x'.repeat(42)}${i % 10}` })));
  expect(tokens.filter((a) => a.status === 303 && a.location!.startsWith('/login?'))).toHaveLength(5);
  expect(tokens.filter((a) => a.status === 429 && /Too many failed sign-ins from this address/.test(a.body))).toHaveLength(25);
  const lines = await metrics();
  expect(lines).toContain('flowbridge_login_failures_total{reason="unknown-token"} 6');
});

it('ends a session when its time is up (web.sessionHours), and the cookie says when', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fb-sessions-'));
  const file = join(dir, 'config.json');
  // Two seconds.
  writeFileSync(file, JSON.stringify({ web: { sessionHours: 2 / 3600 }, users: [{ name: 'gina', roles: ['viewer'], password: 'gina-password' }] }));
  const short = await startFlowbridge(resolveConfig(readConfigFile(file), parseCli(['--http', '127.0.0.1:0', '--data-dir', join(dir, 'data'), '-i', 'tcp://127.0.0.1:16589c'], {}).flags));
  try {
    const login = await fetch(`${short.url}/login`, { method: 'POST', redirect: 'manual', headers: { origin: short.url! }, body: new URLSearchParams({ user: 'gina', password: 'gina-password', next: '/' }) });
    expect(login.headers.get('set-cookie')).toMatch(/^flowbridge_session=fbs_[^;]+; Max-Age=2; Path=\/; HttpOnly; SameSite=Strict$/);
    const cookie = login.headers.get('set-cookie')!.split(';')[0];
    expect((await fetch(`${short.url}/api/v1/status`, { headers: { cookie } })).status).toBe(200);
    await waitFor(async () => (await fetch(`${short.url}/api/v1/status`, { headers: { cookie } })).status === 401, 'the session to expire');
  } finally {
    await short.stop();
  }
});
