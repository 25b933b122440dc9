// Bearer-token auth. With a token configured, changes need it, and reads too when
// protectReads is on (/healthz never: probes must not need secrets). Pages may
// carry the token in a cookie set by the login form, so a browser can use them.
import { timingSafeEqual } from 'node:crypto';
import type { Handler, MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import type { ApiAuth } from './context.ts';
import { carriesPackets } from './packet-access.ts';

export const TOKEN_COOKIE = 'flowbridge_token';

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function tokenFrom(header: string | undefined, cookie: string | undefined): string | undefined {
  const m = header ? /^Bearer\s+(.+)$/i.exec(header) : null;
  return m?.[1] ?? cookie;
}

export function requireToken(auth: ApiAuth): MiddlewareHandler {
  return async (c, next) => {
    const expected = auth.token;
    if (expected === undefined || c.req.path === '/healthz' || c.req.path === '/login') return next();
    const mutating = c.req.method !== 'GET' && c.req.method !== 'HEAD';
    // Packet payloads are never a plain read: with a token set, they need it.
    if (!mutating && !auth.protectReads && !carriesPackets(c.req.path)) return next();
    const given = tokenFrom(c.req.header('authorization'), getCookie(c, TOKEN_COOKIE));
    if (given !== undefined && sameToken(given, expected)) return next();
    const wantsPage = !c.req.path.startsWith('/api/') && c.req.path !== '/metrics';
    if (wantsPage && c.req.method === 'GET') return c.redirect(`/login?next=${encodeURIComponent(c.req.path)}`);
    return c.json({ error: given === undefined ? 'this call needs "Authorization: Bearer <token>"' : 'the token is not valid' }, 401);
  };
}

/**
 * Where the login form may send the browser back to: a path of this server only.
 * One leading '/' followed by neither '/' nor a backslash, printable ASCII and no
 * backslash after it, and the same start with no control characters once
 * percent-decoded. Anything else (`//evil.example`, `https://evil.example`, ...)
 * goes to '/': the login page must never lead to another site.
 */
export function sameOriginPath(next: unknown): string {
  if (typeof next !== 'string' || !/^\/(?![/\\])[\x21-\x5b\x5d-\x7e]*$/.test(next)) return '/';
  let decoded: string;
  try {
    decoded = decodeURIComponent(next);
  } catch {
    return '/';
  }
  return /^\/(?![/\\])[^\x00-\x1f\x7f]*$/.test(decoded) ? next : '/';
}

/** POST /login: keeps the token the form was given in a cookie and returns to the page asked for. */
export const signIn: Handler = async (c) => {
  const form = await c.req.parseBody();
  setCookie(c, TOKEN_COOKIE, String(form.token ?? ''), { httpOnly: true, sameSite: 'Strict', path: '/' });
  return c.redirect(sameOriginPath(form.next), 303);
};
