// Signing in to the pages: the login form takes a user and password (a session whose
// secret goes in a cookie) or a token (kept in the cookie as before). Every attempt is
// audited, a failed one too. Who may do what is decided in access.ts.
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { ApiContext } from './context.ts';
import { principalFor, TOKEN_COOKIE, usersOn } from './access.ts';
import { audit } from './audit-trail.ts';
import { redirectWith } from './flash.ts';

export { TOKEN_COOKIE, tokenFrom } from './access.ts';

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

const COOKIE = { httpOnly: true, sameSite: 'Strict', path: '/' } as const;

/** POST /login: a user and password, or a token; back to the page asked for, or to the form saying why not. */
export function signIn(ctx: ApiContext) {
  return async (c: Context) => {
    const form = await c.req.parseBody();
    const next = sameOriginPath(form.next);
    const user = typeof form.user === 'string' ? form.user.trim() : '';
    const password = typeof form.password === 'string' ? form.password : '';
    const token = typeof form.token === 'string' ? form.token : '';
    const failed = (why: string, name: string) => {
      audit(ctx, c, { user: name, action: 'login', target: name, parameters: { with: user ? 'password' : 'token' }, result: `failed: ${why}` });
      return redirectWith(c, `/login?next=${encodeURIComponent(next)}`, 'error', user ? 'The user name or the password is wrong.' : 'That token is not valid.');
    };
    if (user !== '') {
      const found = usersOn(ctx) ? await ctx.users!.byPassword(user, password) : undefined;
      if (!found) return failed(usersOn(ctx) ? 'wrong user or password' : 'no users are configured', user);
      setCookie(c, TOKEN_COOKIE, ctx.users!.sessions.open(found.name), COOKIE);
      audit(ctx, c, { user: found.name, action: 'login', target: found.name, parameters: { with: 'password' }, result: 'ok' });
      return c.redirect(next, 303);
    }
    const p = token === '' ? undefined : principalFor(ctx, token);
    if (!p) return failed(token === '' ? 'no token given' : 'unknown token', 'anonymous');
    setCookie(c, TOKEN_COOKIE, token, COOKIE);
    audit(ctx, c, { user: p.name, action: 'login', target: p.name, parameters: { with: 'token' }, result: 'ok' });
    return c.redirect(next, 303);
  };
}

/** POST /logout: ends the page session (a token stays valid: revoke it to end it). */
export function signOut(ctx: ApiContext) {
  return (c: Context) => {
    const secret = getCookie(c, TOKEN_COOKIE);
    if (secret) ctx.users?.sessions.close(secret);
    deleteCookie(c, TOKEN_COOKIE, { path: '/' });
    return c.redirect('/login', 303);
  };
}
