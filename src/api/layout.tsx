/** @jsxImportSource hono/jsx */
// The frame every page shares: header links, problems at the top, the style sheet.
import type { Child } from 'hono/jsx';

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2733;background:#f6f8fa}
header{background:#17324d;color:#fff;padding:10px 24px;display:flex;gap:24px;align-items:center}
header a{color:#cfe3ff;text-decoration:none}header strong{font-size:16px;margin-right:12px}
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
`;

export function Layout(props: { title: string; children: Child; problems?: string[] }) {
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
          <a href="/exporters">Exporters</a>
          <a href="/api/v1/openapi.json">API</a>
          <a href="/metrics">Metrics</a>
        </header>
        <main>
          {(props.problems ?? []).map((p) => <div class="problem">⚠ {p}</div>)}
          {props.children}
        </main>
      </body>
    </html>
  );
}

export const fmt = (n: number) => n.toLocaleString('en-US');
export const ifaceLink = (i: { id: number }) => `/interfaces/${i.id}`;
