/** @jsxImportSource hono/jsx */
// The admins' Users page: each user with roles, grants, deny and what they may do with
// packets after deny, their tokens (revocable), and forms to create a user, change one,
// create a token (shown once, on the page that answers the form) and delete a user.
// Access is checked by the route table (admin); every form is audited by the trail.
import { Hono, type Context } from 'hono';
import { UserError } from '../access/users.ts';
import { PERMISSIONS, ROLES, type UserView } from '../model/access.ts';
import type { ApiContext } from './context.ts';
import { flashOf, redirectWith } from './flash.ts';
import { Layout } from './layout.tsx';

type Form = Record<string, string | File | (string | File)[]>;
const many = (form: Form, key: string): string[] => {
  const v = form[key] ?? form[`${key}[]`];
  return (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter((x): x is string => typeof x === 'string');
};

function Checks({ name, options, checked }: { name: string; options: readonly string[]; checked: string[] }) {
  return <>{options.map((o) => <label style="margin-right:10px"><input type="checkbox" name={name} value={o} checked={checked.includes(o)} /> {o}</label>)}</>;
}

function UsersPage({ ctx, note, error, token }: { ctx: ApiContext; note?: string; error?: string; token?: { user: string; id: string; token: string } }) {
  const users = ctx.users?.list() ?? [];
  return (
    <Layout title="Users" ctx={ctx}>
      <h1>Users</h1>
      {note ? <div class="note">{note}</div> : null}
      {error ? <div class="error">{error}</div> : null}
      {token ? (
        <div class="note" id="new-token">
          New token <code>{token.id}</code> for {token.user}, shown this once (only its hash is kept): <code id="token-value">{token.token}</code>
        </div>
      ) : null}
      {users.length === 0 ? <p>No users: {ctx.auth.token ? 'the API token may do everything' : 'anyone on this host may do everything (the API is served on loopback)'}. The first user created here puts users in charge.</p> : null}
      <table id="users">
        <thead><tr><th>User</th><th>Roles</th><th>Grants</th><th>Deny</th><th>May (packets)</th><th>Password</th><th>Tokens</th><th></th></tr></thead>
        <tbody>{users.map((u) => <UserRow u={u} />)}</tbody>
      </table>
      <h2>Create a user</h2>
      <div class="card">
        <form method="post" action="/users" class="settings" id="create-user">
          <p><label>Name</label> <input name="name" required /></p>
          <p><label>Roles</label> <Checks name="roles" options={ROLES} checked={['viewer']} /></p>
          <p><label>Grants</label> <Checks name="grants" options={PERMISSIONS} checked={[]} /> <small>no role includes them, not even admin</small></p>
          <p><label>Deny</label> <Checks name="deny" options={PERMISSIONS} checked={[]} /> <small>beats any grant</small></p>
          <p><label>Password</label> <input type="password" name="password" autocomplete="new-password" /> <small>optional, 8 characters or more</small></p>
          <button type="submit">Create user</button>
        </form>
      </div>
    </Layout>
  );
}

function UserRow({ u }: { u: UserView }) {
  const path = `/users/${encodeURIComponent(u.name)}`;
  return (
    <tr data-user={u.name}>
      <td>{u.name}{u.source === 'config' ? <small> (config file)</small> : null}</td>
      <td colspan={3}>
        <form method="post" action={`${path}/edit`}>
          <Checks name="roles" options={ROLES} checked={u.roles} /> | grants <Checks name="grants" options={PERMISSIONS} checked={u.grants} /> | deny <Checks name="deny" options={PERMISSIONS} checked={u.deny} />
          <button type="submit">Save</button>
        </form>
      </td>
      <td>{u.permissions.join(', ') || '—'}</td>
      <td>{u.password ? 'set' : '—'}</td>
      <td>
        {u.tokens.map((t) => (
          <form method="post" action={`${path}/tokens/${t.id}/revoke`} style="display:block"><code>{t.id}</code> <small>{t.createdAt}</small> <button type="submit">Revoke</button></form>
        ))}
        <form method="post" action={`${path}/tokens`}><button type="submit">New token</button></form>
      </td>
      <td><form method="post" action={`${path}/delete`}><button type="submit">Delete</button></form></td>
    </tr>
  );
}

export function usersPages(ctx: ApiContext): Hono {
  const app = new Hono();
  const users = () => {
    if (!ctx.users) throw new UserError('users are not available in this collector', 404);
    return ctx.users;
  };
  /** Runs a change and returns to /users saying how it went. */
  const change = (c: Context, apply: () => string) => {
    try {
      return redirectWith(c, '/users', 'note', apply());
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      c.set('audit', { ...c.get('audit'), result: `refused: ${err.message}` });
      return redirectWith(c, '/users', 'error', err.message);
    }
  };
  app.get('/users', (c) => c.html(<UsersPage ctx={ctx} {...flashOf(c)} />));
  app.post('/users', async (c) => {
    const form = (await c.req.parseBody({ all: true })) as Form;
    const password = typeof form.password === 'string' && form.password !== '' ? form.password : undefined;
    c.set('audit', { target: String(form.name ?? '') });
    return change(c, () => {
      const u = users().create({ name: String(form.name ?? ''), roles: many(form, 'roles'), grants: many(form, 'grants'), deny: many(form, 'deny'), ...(password ? { password } : {}) });
      return `User ${u.name} created (${[...u.roles, ...u.permissions].join(', ') || 'no role'}).`;
    });
  });
  app.post('/users/:name/edit', async (c) => {
    const form = (await c.req.parseBody({ all: true })) as Form;
    return change(c, () => {
      const u = users().update(c.req.param('name'), { roles: many(form, 'roles'), grants: many(form, 'grants'), deny: many(form, 'deny') });
      return `User ${u.name} saved (${[...u.roles, ...u.permissions].join(', ') || 'no role'}).`;
    });
  });
  app.post('/users/:name/delete', (c) => change(c, () => {
    users().remove(c.req.param('name'));
    return `User ${c.req.param('name')} deleted, with their tokens.`;
  }));
  app.post('/users/:name/tokens/:tokenId/revoke', (c) => change(c, () => {
    users().revokeToken(c.req.param('name'), c.req.param('tokenId'));
    return `Token ${c.req.param('tokenId')} of ${c.req.param('name')} revoked.`;
  }));
  app.post('/users/:name/tokens', (c) => {
    const name = c.req.param('name');
    try {
      const t = users().createToken(name);
      c.set('audit', { target: `${name}/${t.id}` });
      c.header('cache-control', 'no-store');
      return c.html(<UsersPage ctx={ctx} token={{ user: name, id: t.id, token: t.token }} />);
    } catch (err) {
      if (err instanceof UserError) return redirectWith(c, '/users', 'error', err.message);
      throw err;
    }
  });
  return app;
}
