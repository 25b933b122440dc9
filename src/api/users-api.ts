// REST for users (admins only, by the route table): list, create, change, delete, their
// API tokens (shown once at creation, kept as a hash, revocable), and the audit log,
// newest first. A refused change names what is wrong and changes nothing.
import { Hono } from 'hono';
import { UserError, type UserStore } from '../access/users.ts';
import type { AuditLog } from './packet-access.ts';
import { BadRequest } from './rest.ts';

/** Errors of this room as HTTP answers (null: not ours). */
export function userErrorResponse(err: Error): { status: 400 | 404 | 409; error: string } | null {
  return err instanceof UserError ? { status: err.status, error: err.message } : null;
}

const MAX_AUDIT = 10_000;

export function usersApi(users: UserStore, auditLog: AuditLog | undefined): Hono {
  const app = new Hono();
  const body = async (c: { req: { json(): Promise<unknown> } }) => {
    try {
      return await c.req.json();
    } catch {
      throw new BadRequest('the body is not valid JSON: send { "name", "roles": ["viewer" | "operator" | "admin"], "grants"?: ["capture" | "pcap"], "deny"?: ["capture" | "pcap"], "password"? }');
    }
  };
  app.get('/users', (c) => c.json({ users: users.list(), bound: { size: users.size, max: 1000 }, sessions: users.sessions.stats() }));
  app.post('/users', async (c) => {
    const input = await body(c);
    const name = (input as { name?: unknown } | null)?.name;
    if (typeof name === 'string') c.set('audit', { target: name });
    return c.json(users.create(input), 201);
  });
  app.get('/users/:name', (c) => c.json(users.list().find((u) => u.name === users.get(c.req.param('name')).name)));
  app.patch('/users/:name', async (c) => c.json(users.update(c.req.param('name'), await body(c))));
  app.delete('/users/:name', (c) => {
    users.remove(c.req.param('name'));
    return c.body(null, 204);
  });
  app.post('/users/:name/tokens', (c) => {
    const created = users.createToken(c.req.param('name'));
    c.set('audit', { target: `${c.req.param('name')}/${created.id}` });
    return c.json({ ...created, note: 'shown once: only its hash is kept' }, 201);
  });
  app.delete('/users/:name/tokens/:tokenId', (c) => {
    users.revokeToken(c.req.param('name'), c.req.param('tokenId'));
    return c.body(null, 204);
  });
  app.get('/audit', (c) => {
    const limit = c.req.query('limit');
    if (limit !== undefined && (!/^\d+$/.test(limit) || Number(limit) < 1 || Number(limit) > MAX_AUDIT)) throw new BadRequest(`limit ${JSON.stringify(limit)} must be a whole number from 1 to ${MAX_AUDIT}`);
    return c.json({ entries: auditLog?.recent(limit === undefined ? 100 : Number(limit)) ?? [], file: auditLog?.path ?? null });
  });
  return app;
}
