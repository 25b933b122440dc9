// Signing in to the pages: the login form takes a user and password, or a token (a
// user's, or the --api-token). Either way the cookie gets a random session id
// (src/access/sessions.ts), never the token. Failed attempts are throttled per client
// address and per user name (src/access/login-throttle.ts: 429 with Retry-After),
// counted by reason on /metrics, and every attempt is audited. Who may do what is
// decided in access.ts.
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { addressKey, type LoginThrottle, userKey } from '../access/login-throttle.ts';
import type { LoginFailure } from '../model/web.ts';
import type { ApiContext } from './context.ts';
import { SESSION_COOKIE, sessionsOf, tokenPrincipal, usersOn } from './access.ts';
import { audit, clientAddress } from './audit-trail.ts';
import { redirectWith } from './flash.ts';
import { loginPage } from './login-page.tsx';
import type { WebCounters } from './web-counters.ts';

export { SESSION_COOKIE, tokenFrom } from './access.ts';

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

export interface SignInGuard {
  throttle: LoginThrottle;
  counters: WebCounters;
  /** How long a session lasts. */
  sessionHours: number;
}

/** POST /login: a user and password, or a token; back to the page asked for, or to the form saying why not. */
export function signIn(ctx: ApiContext, guard: SignInGuard) {
  return async (c: Context) => {
    const form = await c.req.parseBody();
    const next = sameOriginPath(form.next);
    const user = typeof form.user === 'string' ? form.user.trim() : '';
    const password = typeof form.password === 'string' ? form.password : '';
    const token = typeof form.token === 'string' ? form.token : '';
    const using = user ? 'password' : 'token';
    const name = user || 'anonymous';
    const keys = user ? [addressKey(clientAddress(c)), userKey(user)] : [addressKey(clientAddress(c))];
    const cookie = (value: string) => {
      c.header('cache-control', 'no-store');
      setCookie(c, SESSION_COOKIE, value, { ...COOKIE, maxAge: Math.round(guard.sessionHours * 3600), ...(new URL(c.req.url).protocol === 'https:' ? { secure: true } : {}) });
    };

    const attempt = guard.throttle.begin(keys);
    if ('refused' in attempt) {
      const { seconds, locked } = attempt.refused;
      guard.counters.refused['login-throttled']++;
      const what = locked.map((k) => (k.startsWith('user ') ? 'for this user name' : 'from this address')).join(' and ');
      audit(ctx, c, { user: name, action: 'login', target: name, parameters: { with: using }, result: `throttled: too many failed sign-ins ${what} (${locked.join(', ')}); retry after ${seconds} s` });
      return loginPage(c, next, `Too many failed sign-ins ${what}: try again in ${seconds} seconds.`, 429, { 'retry-after': String(seconds) });
    }
    const failed = (reason: LoginFailure, why: string) => {
      guard.counters.loginFailures[reason]++;
      attempt.end('failed');
      audit(ctx, c, { user: name, action: 'login', target: name, parameters: { with: using }, result: `failed: ${why}` });
      return redirectWith(c, `/login?next=${encodeURIComponent(next)}`, 'error', user ? 'The user name or the password is wrong.' : 'That token is not valid.');
    };
    const ttlMs = guard.sessionHours * 3600_000;

    if (user !== '') {
      if (!usersOn(ctx)) return failed('no-users', 'no users are configured');
      let found;
      try {
        found = await ctx.users!.byPassword(user, password);
      } catch (err) {
        attempt.end('failed');
        throw err;
      }
      if (!found) return failed('wrong-password', 'wrong user or password');
      attempt.end('succeeded', userKey(user));
      cookie(sessionsOf(ctx).open(found.name, { kind: 'password' }, ttlMs));
      audit(ctx, c, { user: found.name, action: 'login', target: found.name, parameters: { with: 'password' }, result: 'ok' });
      return c.redirect(next, 303);
    }
    if (token === '') return failed('no-credential', 'no token given');
    const t = tokenPrincipal(ctx, token);
    if (!t) return failed('unknown-token', 'unknown token');
    attempt.end('succeeded');
    const p = t.principal;
    cookie(sessionsOf(ctx).open(p.name, p.kind === 'api-token' ? { kind: 'api-token' } : { kind: 'token', tokenId: t.tokenId! }, ttlMs));
    audit(ctx, c, { user: p.name, action: 'login', target: p.name, parameters: { with: 'token' }, result: 'ok' });
    return c.redirect(next, 303);
  };
}

/** POST /logout: ends the page session (a token stays valid: revoke it to end it). */
export function signOut(ctx: ApiContext) {
  return (c: Context) => {
    const secret = getCookie(c, SESSION_COOKIE);
    if (secret) sessionsOf(ctx).close(secret);
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return c.redirect('/login', 303);
  };
}
