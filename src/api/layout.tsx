/** @jsxImportSource hono/jsx */
// The frame every page shares: header links, problems at the top, the style sheet, and
// a footer whose badges say whether packets are being recorded and how many extraction
// jobs exist (each links to its page).
import type { Child } from 'hono/jsx';
import { tryGetContext } from 'hono/context-storage';
import type { Principal } from '../model/access.ts';
import type { ApiContext } from './context.ts';

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2733;background:#f6f8fa}
header{background:#17324d;color:#fff;padding:10px 24px;display:flex;gap:24px;align-items:center}
header a{color:#cfe3ff;text-decoration:none}header .who{margin-left:auto;display:flex;gap:10px;align-items:center}header .who small{color:#cfe3ff}header strong{font-size:16px;margin-right:12px}
main{padding:18px 24px}h1{font-size:20px;margin:4px 0 14px}
table{border-collapse:collapse;background:#fff;width:100%;box-shadow:0 1px 2px #0001}
th,td{padding:6px 9px;border-bottom:1px solid #e5e9ef;text-align:left;vertical-align:top;white-space:nowrap}
th{background:#eef2f6;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
.problem{background:#fff4e5;border-left:4px solid #e67e22;padding:8px 12px;margin:0 0 12px}
.error{background:#fdecea;border-left:4px solid #c0392b;padding:8px 12px;margin:0 0 12px}
.note{background:#e8f5e9;border-left:4px solid #2e7d32;padding:8px 12px;margin:0 0 12px}
.card{background:#fff;padding:14px 18px;margin:0 0 16px;box-shadow:0 1px 2px #0001;max-width:720px}
h2{font-size:16px;margin:20px 0 8px}section table{margin-bottom:8px}
.state{font-weight:600}.state.running{color:#2e7d32}.state.error{color:#c0392b}.state.starting{color:#b26a00}.state.stopped{color:#5a6b7d}
.tag{display:inline-block;padding:0 6px;border-radius:3px;background:#e3ecf7;font-size:12px}
.tag.both{background:#d4f0d9}.tag.events{background:#f7ecd3}
form.filters input{width:140px}small{color:#5a6b7d}
footer{padding:10px 24px 18px;display:flex;gap:10px;align-items:center;color:#5a6b7d}
.badge{display:inline-block;padding:2px 10px;border-radius:10px;color:#fff;text-decoration:none;font-size:12px;font-weight:600}
.badge.recording{background:#1f6fd1}.badge.failed{background:#c0392b}.badge.jobs{background:#5a6b7d}
.state.paused,.state.failed{color:#c0392b}
form.settings label{display:inline-block;min-width:150px}form.settings input[type=text]{width:110px}
`;

/**
 * The recording badge: red when a recording interface failed or paused (it names which),
 * else blue while any records; nothing when none records.
 */
function RecordingBadge({ ctx }: { ctx: ApiContext }) {
  const recordings = ctx.telemetry.interfaces().flatMap((t) => (t.recording?.enabled ? [{ name: t.name, r: t.recording }] : []));
  const broken = recordings.filter(({ r }) => r.state === 'failed' || r.state === 'paused');
  if (broken.length) {
    const failed = broken.some(({ r }) => r.state === 'failed');
    const title = broken.map(({ name, r }) => `${name}: ${r.state}${r.error ? ` (${r.error})` : ''}`).join('; ');
    return <a id="recording-badge" class="badge failed" href="/recording" title={title}>{failed ? 'Recording failed' : 'Recording paused'}</a>;
  }
  const running = recordings.filter(({ r }) => r.state === 'running');
  if (!running.length) return null;
  return <a id="recording-badge" class="badge recording" href="/recording" title={`Recording ${running.map((x) => x.name).join(', ')}`}>Recording</a>;
}

function JobsBadge({ ctx }: { ctx: ApiContext }) {
  const n = ctx.recordings?.jobs.list().length ?? 0;
  if (!n) return null;
  return <a id="jobs-badge" class="badge jobs" href="/extractions">{n} extraction job{n === 1 ? '' : 's'}</a>;
}


/** The footer's badges; the pages refresh it in place from GET /footer. */
export function Footer({ ctx }: { ctx: ApiContext }) {
  return <footer id="footer"><RecordingBadge ctx={ctx} /><JobsBadge ctx={ctx} /></footer>;
}

const FOOTER_REFRESH = `
setInterval(async () => {
  const r = await fetch('/footer', { headers: { accept: 'text/html' } });
  if (!r.ok) return;
  const fresh = new DOMParser().parseFromString(await r.text(), 'text/html').getElementById('footer');
  const now = document.getElementById('footer');
  if (fresh && now) now.replaceWith(fresh);
}, 3000);`;

/** Who this page is shown to, at the header's end: a user (with Sign out), the API token, or a link to sign in. */
function SignedIn() {
  const p = tryGetContext()?.get('principal') as Principal | undefined;
  // No principal (the sign-in page) or the local operator with no users and no token: nothing to say.
  if (!p || (p.kind === 'anonymous' && p.roles.includes('admin'))) return null;
  if (p.kind === 'anonymous') return <span id="signed-in" class="who"><a href="/login">Sign in</a></span>;
  const what = [...p.roles, ...p.permissions].join(', ') || 'no role';
  return (
    <span id="signed-in" class="who">
      {p.roles.includes('admin') ? <a href="/users">Users</a> : null}
      <span title={what}>{p.kind === 'api-token' ? 'API token' : p.name}</span> <small>({what})</small>
      <form method="post" action="/logout" style="display:inline"><button type="submit">Sign out</button></form>
    </span>
  );
}

/** `ctx`: the footer shows the recording and jobs badges (left out on the sign-in page). */
export function Layout(props: { title: string; children: Child; problems?: string[]; ctx?: ApiContext }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title>{props.title} · flowbridge</title>
        <style dangerouslySetInnerHTML={{ __html: STYLE }} />
      </head>
      <body>
        <header>
          <strong>flowbridge</strong>
          <a href="/">Interfaces</a>
          <a href="/processes">Processes</a>
          <a href="/exporters">Exporters</a>
          <a href="/recording">Recordings</a>
          <a href="/extractions">Jobs</a>
          <a href="/push">Push</a>
          <a href="/alerts">Alerts</a>
          <a href="/captures">Captures</a>
          <a href="/api/v1/openapi.json">API</a>
          <a href="/metrics">Metrics</a>
          <SignedIn />
        </header>
        <main>
          {(props.problems ?? []).map((p) => <div class="problem">⚠ {p}</div>)}
          {props.children}
        </main>
        {props.ctx ? <><Footer ctx={props.ctx} /><script dangerouslySetInnerHTML={{ __html: FOOTER_REFRESH }} /></> : null}
      </body>
    </html>
  );
}

export const fmt = (n: number) => n.toLocaleString('en-US');
export const ifaceLink = (i: { id: number }) => `/interfaces/${i.id}`;
export const timeText = (ms: number | undefined) => (ms === undefined ? '—' : new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC'));

/** 1234567 → "1.23 MB" (powers of 1000, as the sizes people type). */
export function bytesText(n: number): string {
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${fmt(n)} bytes` : `${v.toLocaleString('en-US', { maximumFractionDigits: v < 10 ? 2 : 1 })} ${units[i]}`;
}

/** Replaces `ids` with the same elements of a fresh copy of this page every `ms`. */
export const refreshScript = (ids: string[], ms: number) => `
setInterval(async () => {
  const r = await fetch(location.pathname, { headers: { accept: 'text/html' } });
  if (!r.ok) return;
  const doc = new DOMParser().parseFromString(await r.text(), 'text/html');
  for (const id of ${JSON.stringify(ids)}) {
    const fresh = doc.getElementById(id), now = document.getElementById(id);
    if (fresh && now) now.replaceWith(fresh);
  }
}, ${ms});`;

