// The login form over real HTTP, with an API token and protected reads: it returns the
// browser to the page it came from on this server, and never to another site.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startWithFlags } from '../support/flowbridge.ts';

const TOKEN = 'correct-horse-battery';
let fb: Awaited<ReturnType<typeof startWithFlags>>;

beforeAll(async () => {
  fb = await startWithFlags(['-i', 'tcp://127.0.0.1:16530c', '-i', 'fbnosuch2', '--api-token', TOKEN, '--protect-reads']);
});
afterAll(async () => {
  await fb?.stop();
});

/** Submits the login form as a browser would, and answers where it is sent next. */
async function signIn(next: string, token = TOKEN): Promise<{ status: number; location: string | null; cookie: string | null }> {
  const r = await fb.api('/login', { method: 'POST', body: new URLSearchParams({ token, next }), redirect: 'manual', headers: { origin: fb.url } });
  return { status: r.status, location: r.headers.get('location'), cookie: r.headers.get('set-cookie') };
}

it('returns to the page asked for, which then opens with the cookie', async () => {
  const page = await fb.api('/interfaces/0', { redirect: 'manual' });
  expect(page.status).toBe(302);
  const login = new URL(page.headers.get('location')!, fb.url);
  expect(login.pathname).toBe('/login');

  const back = await signIn(login.searchParams.get('next')!);
  expect(back).toMatchObject({ status: 303, location: '/interfaces/0' });
  const opened = await fb.api(back.location!, { headers: { cookie: back.cookie!.split(';')[0] } });
  expect(opened.status).toBe(200);
  expect(await opened.text()).toContain('tcp://127.0.0.1:16530c');
  expect((await signIn('/interfaces/0/flows?port=443&host=10.0.0.5')).location).toBe('/interfaces/0/flows?port=443&host=10.0.0.5');
});

it('sends any return address that is not a path of this server to /', async () => {
  for (const next of [
    '//evil.example', '/\\evil.example', '\\\\evil.example', 'https://evil.example', 'http:/evil.example', 'javascript:alert(1)',
    '/%2F%2Fevil.example', '/%5Cevil.example', '/\t/evil.example', '/%09/evil.example', ' /interfaces/0', '', 'interfaces/0',
  ]) {
    expect(await signIn(next), JSON.stringify(next)).toMatchObject({ status: 303, location: '/' });
  }
});

it('a link to //evil.example on this server ends at / after signing in, not at the other site', async () => {
  const page = await fetch(`${fb.url}//evil.example`, { redirect: 'manual' });
  expect(page.status).toBe(302);
  const next = new URL(page.headers.get('location')!, fb.url).searchParams.get('next')!;
  expect(next).toBe('//evil.example');
  expect((await signIn(next)).location).toBe('/');
});

it('carries only a path of this server in the login form, never markup', async () => {
  const html = await (await fb.api(`/login?next=${encodeURIComponent('"><script>alert(1)</script>')}`)).text();
  expect(html).not.toContain('<script>alert(1)');
  expect(html).toContain('<input type="hidden" name="next" value="/"/>');
  expect(await (await fb.api(`/login?next=${encodeURIComponent('/interfaces/0')}`)).text()).toContain('name="next" value="/interfaces/0"');
});

it('refuses a form sent from another site, and changes nothing', async () => {
  const cookie = (await signIn('/')).cookie!.split(';')[0];
  const markMirrored = (origin: string) => fb.api('/interfaces/1/settings', {
    method: 'POST', redirect: 'manual', headers: { origin, cookie }, body: new URLSearchParams({ setting: 'mirrored', mirrored: 'on' }),
  });
  const mirrored = async () => ((await (await fb.api('/api/v1/interfaces/1', { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { mirrored: boolean }).mirrored;

  const forged = await markMirrored('https://evil.example');
  expect(forged.status).toBe(403);
  expect(await forged.json()).toEqual({ error: `forms are accepted from this server's own pages only (Origin ${fb.url})` });
  expect(await mirrored()).toBe(false);
  // A form without any Origin is not taken as this server's either.
  expect((await fb.api('/login', { method: 'POST', body: new URLSearchParams({ token: TOKEN, next: '/' }), redirect: 'manual' })).status).toBe(403);

  expect((await markMirrored(fb.url)).status).toBe(303);
  expect(await mirrored()).toBe(true);
});

it('shows a form\'s outcome once, and no text a crafted link brings', async () => {
  const cookie = (await signIn('/')).cookie!.split(';')[0];
  const page = async (path: string) => (await fb.api(path, { headers: { cookie } })).text();
  const saved = await fb.api('/interfaces/1/settings', {
    method: 'POST', redirect: 'manual', headers: { origin: fb.url, cookie }, body: new URLSearchParams({ setting: 'mirrored' }),
  });
  const landing = saved.headers.get('location')!;
  expect(landing).toMatch(/^\/interfaces\/1\?flash=[0-9a-f]{16}$/);
  expect(await page(landing)).toContain('<div class="note">Saved.');
  // Once only.
  expect(await page(landing)).not.toContain('class="note"');
  // A link can bring an id, never text.
  for (const crafted of ['/interfaces/1?note=Your%20session%20expired,%20call%20555-0100', '/interfaces/1?error=reinstall', '/interfaces/1?flash=0123456789abcdef', '/extractions?note=hi']) {
    const html = await page(crafted);
    expect(html, crafted).not.toMatch(/class="(note|error)"/);
  }
});
