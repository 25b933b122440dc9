// The one check every route goes through: who is calling (a user's token, a page
// session, the --api-token, or nobody) and whether they have the role or permission
// the route needs. 401 without a credential or with a wrong one; 403 naming the
// missing role or permission. The principal is set on the context for the audit.
//
// With no users configured it keeps the older rule: no token → everyone may do
// everything (served on loopback); with --api-token, changes, packets, admin reads (and
// every read with --protect-reads) need the token, which may then do everything.
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { timingSafeEqual } from 'node:crypto';
import { effectivePermissions, refusal } from '../access/permission.ts';
import { Sessions } from '../access/sessions.ts';
import { tokenId } from '../access/tokens.ts';
import { PERMISSIONS, ROLES, type Need, type Permission, type Principal, type Role, type StoredUser } from '../model/access.ts';
import { ruleOf } from './access-rules.ts';
import type { ApiContext } from './context.ts';

declare module 'hono' {
  interface ContextVariableMap {
    principal: Principal;
  }
}

/** The page session's cookie: a random session id (src/access/sessions.ts), never a token. */
export const SESSION_COOKIE = 'flowbridge_session';

const EVERYTHING: Omit<Principal, 'name' | 'kind'> = { roles: [...ROLES], permissions: [...PERMISSIONS], denied: [] };
/** No users, no API token: the local operator may do everything (served on loopback). */
export const ANONYMOUS_LOCAL: Principal = { name: 'anonymous', kind: 'anonymous', ...EVERYTHING };
/** No users, an API token, none given: reads only (and not packets). */
const ANONYMOUS_READER: Principal = { name: 'anonymous', kind: 'anonymous', roles: ['viewer'], permissions: [], denied: [] };

export const principalOf = (u: StoredUser): Principal => ({
  name: u.name, kind: 'user', roles: [...u.roles], permissions: effectivePermissions(u.grants, u.deny), denied: [...u.deny],
});

/** Users are in charge once there is at least one. */
export const usersOn = (ctx: ApiContext): boolean => (ctx.users?.size ?? 0) > 0;

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function tokenFrom(header: string | undefined, cookie: string | undefined): string | undefined {
  const m = header ? /^Bearer\s+(.+)$/i.exec(header) : null;
  return m?.[1] ?? cookie;
}

/** With users, the API token is an admin without capture or pcap; without, it may do everything (as before users). */
const apiTokenPrincipal = (ctx: ApiContext): Principal =>
  (usersOn(ctx) ? { name: 'token', kind: 'api-token', roles: ['admin'], permissions: [], denied: [] } : { name: 'token', kind: 'api-token', ...EVERYTHING });

const ownSessions = new WeakMap<ApiContext, Sessions>();
/** The page sessions: the user store's, or (an app built without one) the app's own. */
export function sessionsOf(ctx: ApiContext): Sessions {
  if (ctx.users) return ctx.users.sessions;
  let s = ownSessions.get(ctx);
  if (!s) ownSessions.set(ctx, (s = new Sessions()));
  return s;
}

/** The principal a page session stands for while what it was opened with still holds. */
function sessionPrincipal(ctx: ApiContext, secret: string): Principal | undefined {
  const s = sessionsOf(ctx).session(secret);
  if (!s) return undefined;
  if (s.kind === 'api-token') return ctx.auth.token !== undefined ? apiTokenPrincipal(ctx) : undefined;
  const user = usersOn(ctx) ? ctx.users!.find(s.user) : undefined;
  if (!user || (s.kind === 'token' && !user.tokens.some((t) => t.id === s.tokenId))) return undefined;
  return principalOf(user);
}

/** The principal a token (the --api-token or a user's) stands for, with the user's token id; undefined for anything else. */
export function tokenPrincipal(ctx: ApiContext, given: string): { principal: Principal; tokenId?: string } | undefined {
  const apiToken = ctx.auth.token;
  if (apiToken !== undefined && sameSecret(given, apiToken)) return { principal: apiTokenPrincipal(ctx) };
  const user = usersOn(ctx) ? ctx.users!.byToken(given) : undefined;
  return user ? { principal: principalOf(user), tokenId: tokenId(given) } : undefined;
}

/** The principal a credential (a token, or a page session's id) stands for, or undefined when it is not one. */
export function principalFor(ctx: ApiContext, given: string): Principal | undefined {
  return sessionPrincipal(ctx, given) ?? tokenPrincipal(ctx, given)?.principal;
}

const normalise = (need: Role | Permission | Need): Need =>
  typeof need === 'string' ? ((ROLES as readonly string[]).includes(need) ? { role: need as Role } : { permission: need as Permission }) : need;

/** Answers a request that lacks a (valid) credential: pages go to the sign-in form. */
function unauthenticated(c: Context, given: string | undefined, users: boolean): Response {
  const wantsPage = !c.req.path.startsWith('/api/') && c.req.path !== '/metrics' && !c.req.path.startsWith('/lua/');
  if (wantsPage && c.req.method === 'GET') return c.redirect(`/login?next=${encodeURIComponent(c.req.path)}`);
  const how = users ? '"Authorization: Bearer <token>" (a user\'s token from POST /api/v1/users/<name>/tokens) or a signed-in page' : '"Authorization: Bearer <token>"';
  return c.json({ error: given === undefined ? `this call needs ${how}` : 'the token is not valid (unknown, revoked, or expired)' }, 401);
}

/**
 * A middleware that lets the request through when the caller has `need` (a role, a
 * permission, or both), setting `principal`; else 401 or 403 naming what is missing.
 */
export function requireAccess(ctx: ApiContext, need: Role | Permission | Need): MiddlewareHandler {
  const wanted = normalise(need);
  return async (c, next) => {
    const given = tokenFrom(c.req.header('authorization'), getCookie(c, SESSION_COOKIE));
    const users = usersOn(ctx);
    let principal = given === undefined ? undefined : principalFor(ctx, given);
    if (!principal && !users) {
      const mutating = c.req.method !== 'GET' && c.req.method !== 'HEAD';
      if (ctx.auth.token === undefined) principal = ANONYMOUS_LOCAL;
      else if (!(mutating || ctx.auth.protectReads || wanted.permission !== undefined || wanted.role === 'admin')) principal = ANONYMOUS_READER;
    }
    if (!principal) return unauthenticated(c, given, users);
    c.set('principal', principal);
    const refused = refusal(principal, wanted);
    if (refused) return c.json({ error: refused.reason, missing: refused.missing }, 403);
    return next();
  };
}

/** requireAccess with what the route table (access-rules.ts) says each route needs. */
export function accessByRoute(ctx: ApiContext): MiddlewareHandler {
  return async (c, next) => {
    const { rule } = ruleOf(c.req.method, c.req.path);
    if (rule.need === 'public') {
      const given = tokenFrom(c.req.header('authorization'), getCookie(c, SESSION_COOKIE));
      const p = given === undefined ? undefined : principalFor(ctx, given);
      if (p) c.set('principal', p);
      return next();
    }
    return requireAccess(ctx, rule.need)(c, next);
  };
}
