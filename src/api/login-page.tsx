// The sign-in form: shown by GET /login, and again by POST /login when it refuses.
import type { Context } from 'hono';
import { Layout } from './layout.tsx';

export function loginPage(c: Context, next: string, error?: string, status: 200 | 429 = 200, headers: Record<string, string> = {}) {
  return c.html(
    <Layout title="Sign in">
      <h1>Sign in</h1>
      {error ? <div class="error">{error}</div> : null}
      <div class="card">
        <form method="post" action="/login" class="settings">
          <input type="hidden" name="next" value={next} />
          <p><label>User</label> <input name="user" autocomplete="username" /></p>
          <p><label>Password</label> <input type="password" name="password" autocomplete="current-password" /></p>
          <p><small>or, with no user name:</small></p>
          <p><label>API token</label> <input type="password" name="token" /></p>
          <button type="submit">Sign in</button>
        </form>
      </div>
    </Layout>,
    status,
    headers,
  );
}
