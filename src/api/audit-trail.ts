// The audit trail of requests: every change (and every refusal of a listed route, and
// every packet download a handler did not write down itself) leaves one line in the
// audit log with who, from where, the action, its target, the parameters (secrets left
// out) and how it ended. Handlers may add to their line with c.set('audit', {...}).
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, MiddlewareHandler } from 'hono';
import { ruleOf } from './access-rules.ts';
import type { ApiContext } from './context.ts';
import type { AuditEntry } from './packet-access.ts';

declare module 'hono' {
  interface ContextVariableMap {
    /** Extra fields for this request's audit line; `written`: the handler wrote its own. */
    audit: Partial<AuditEntry> & { written?: boolean };
  }
}

const SECRET_FIELDS = new Set(['password', 'token', 'newPassword']);
const MAX_PARAMS = 4096;

export function clientAddress(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined; // not served by node (tests calling app.fetch)
  }
}

/** Writes one line for this request: the caller and address are taken from the context. */
export function audit(ctx: ApiContext, c: Context, entry: Omit<AuditEntry, 'user' | 'address'> & { user?: string }): void {
  ctx.audit?.write({ user: c.get('principal')?.name ?? 'anonymous', address: clientAddress(c), ...entry });
}

/** A body's fields, without secrets; `password` shows as "(set)". */
export function withoutSecrets(v: unknown): unknown {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([k]) => k !== 'next').map(([k, x]) => [k, SECRET_FIELDS.has(k) ? (x === null || x === '' ? x : '(set)') : x]));
}

async function parameters(c: Context): Promise<unknown> {
  const type = c.req.header('content-type') ?? '';
  try {
    if (/^application\/json\b/i.test(type)) {
      const text = await c.req.text();
      return text === '' ? undefined : withoutSecrets(JSON.parse(text));
    }
    if (/^(application\/x-www-form-urlencoded|multipart\/form-data)\b/i.test(type)) return withoutSecrets(await c.req.parseBody());
  } catch {
    return { unreadable: true };
  }
  return Object.keys(c.req.query()).length ? c.req.query() : undefined;
}

/** The middleware: before the access check, so refusals are written too. */
export function auditTrail(ctx: ApiContext): MiddlewareHandler {
  return async (c, next) => {
    const { rule, target } = ruleOf(c.req.method, c.req.path);
    const mutating = c.req.method !== 'GET' && c.req.method !== 'HEAD';
    if (!ctx.audit || !rule.action) return next();
    let params = mutating ? await parameters(c) : c.req.query();
    if (params !== undefined && JSON.stringify(params).length > MAX_PARAMS) params = { truncated: JSON.stringify(params).slice(0, MAX_PARAMS) };
    await next();
    const extra = c.get('audit');
    const status = c.res.status;
    if (extra?.written) return;
    if (!mutating && status < 400 && rule.action !== 'pcap.download') return;
    let result = status < 400 ? 'ok' : String(status);
    if (status >= 400) {
      try {
        const body = (await c.res.clone().json()) as { error?: string };
        if (body.error) result = `${status}: ${body.error}`;
      } catch {
        // not JSON
      }
    }
    const { written: _, ...fields } = extra ?? {};
    audit(ctx, c, { action: rule.action, target, parameters: params, result, route: c.req.path, ...fields });
  };
}
