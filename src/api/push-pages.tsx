/** @jsxImportSource hono/jsx */
// Push targets as an operator sees them (FMADIO's push_realtime.lua as a page): the
// targets with what each pushed, a form with the seed's fields to create one, the same
// form to change one (only the fields that differ are applied, as PATCH does), Delete, and
// each target's log as FMADIO writes it. Every change goes through ctx.push, so a refusal
// reads as the API says it and changes nothing; the form then keeps what was typed.
import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import { Hono, type Context } from 'hono';
import { parseByteSize } from '../model/byte-size.ts';
import { FILE_NAME_FORMATS, type PushTargetSpec } from '../model/push.ts';
import type { PushTargets, PushTargetView } from '../push/push-targets.ts';
import { PushTargetError } from '../push/target.ts';
import type { ApiContext } from './context.ts';
import { flashOf, redirectWith, type FlashKind } from './flash.ts';
import { bytesText, fmt, Layout, refreshScript } from './layout.tsx';
import { sizeInput } from './recording-pages.tsx';

const dash = '—';
const LOG_LINES = 200;
const targetLink = (desc: string) => `/push/${encodeURIComponent(desc)}`;
const problemTexts = (ctx: ApiContext) => ctx.telemetry.problems().map((p) => p.text);

/** The form's fields, as typed (FMADIO's names, in the API's spelling). */
interface TargetForm {
  desc: string;
  mode: string;
  path: string;
  split: string;
  fileName: string;
  filterBpf: string;
  interface: string;
  spoolSize: string;
}

const formOf = (t: PushTargetSpec): TargetForm => ({
  desc: t.desc, mode: t.mode.toUpperCase(), path: t.path, split: t.split, fileName: t.fileName,
  filterBpf: t.filterBpf ?? '', interface: t.interface, spoolSize: t.spoolBytes === undefined ? '' : sizeInput(t.spoolBytes),
});

function formFields(body: Record<string, unknown>): TargetForm {
  const text = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : '');
  return {
    desc: text('desc').trim(), mode: text('mode'), path: text('path'), split: text('split'), fileName: text('fileName'),
    filterBpf: text('filterBpf'), interface: text('interface'), spoolSize: text('spoolSize').trim(),
  };
}

// What a refused form had in it, kept under a random one-time id for a minute (as flash.ts
// keeps messages) so the form comes back filled in; the URL carries only the id.
const DRAFT_TTL_MS = 60_000;
const MAX_DRAFTS = 64;
const drafts = new Map<string, { at: number; form: TargetForm }>();

function keepDraft(form: TargetForm): string {
  const id = randomBytes(8).toString('hex');
  drafts.set(id, { at: Date.now(), form });
  for (const key of drafts.keys()) {
    if (drafts.size <= MAX_DRAFTS) break;
    drafts.delete(key);
  }
  return id;
}

function draftOf(c: Context): TargetForm | undefined {
  const id = c.req.query('draft');
  const d = id === undefined ? undefined : drafts.get(id);
  if (!d) return undefined;
  drafts.delete(id!);
  return Date.now() - d.at > DRAFT_TTL_MS ? undefined : d.form;
}

/** A new target as the API takes it: empty optional fields left out. */
function createInput(f: TargetForm): Record<string, unknown> {
  const input: Record<string, unknown> = { desc: f.desc, mode: f.mode, path: f.path, split: f.split, fileName: f.fileName, interface: f.interface, filterBpf: f.filterBpf.trim() || null };
  if (f.spoolSize) input.spoolSize = f.spoolSize;
  return input;
}

/**
 * The fields of `f` that differ from the target (PATCH semantics). An empty spool size keeps
 * the current one; a target changed to FILE mode loses its spool size (the field is disabled then).
 */
function changeOf(current: PushTargetSpec, f: TargetForm): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  if (f.desc && f.desc !== current.desc) patch.desc = f.desc;
  if (f.mode.toLowerCase() !== current.mode) patch.mode = f.mode;
  if (f.path.trim() !== current.path) patch.path = f.path;
  if (f.split.trim() !== current.split) patch.split = f.split;
  if (f.fileName !== current.fileName) patch.fileName = f.fileName;
  const filter = f.filterBpf.trim() || null;
  if (filter !== current.filterBpf) patch.filterBpf = filter;
  if (f.interface !== current.interface) patch.interface = f.interface;
  const mode = f.mode.toLowerCase();
  if (f.spoolSize && parseByteSize(f.spoolSize) !== current.spoolBytes) patch.spoolSize = f.spoolSize;
  else if (mode === 'file' && current.spoolBytes !== undefined) patch.spoolSize = undefined;
  return patch;
}

const STYLE = `
div.card.push-form{max-width:1100px}
form.push-target label{display:inline-block;min-width:110px}
form.push-target input[type=text]{width:360px}form.push-target p{margin:6px 0}
td.actions form{display:inline}pre.log{max-width:none;overflow-x:auto;white-space:pre}
`;

/** Disables the spool size unless the mode is RCLONE (a disabled field is not sent). */
const SPOOL_SWITCH = `
for (const f of document.querySelectorAll('form.push-target')) {
  const mode = f.elements.namedItem('mode'), spool = f.elements.namedItem('spoolSize');
  const set = () => { spool.disabled = mode.value !== 'RCLONE'; };
  mode.addEventListener('change', set);
  set();
}`;

/** The create form (`editing` absent) or the edit form of target `editing`. */
function TargetFormCard({ ctx, form, editing }: { ctx: ApiContext; form: TargetForm; editing?: string }) {
  const names = ctx.registry.packetInterfaces().map((p) => p.name);
  if (form.interface && !names.includes(form.interface)) names.push(form.interface);
  const action = editing === undefined ? '/push' : `${targetLink(editing)}/edit`;
  return (
    <div class="card push-form">
      <form class="push-target" method="post" action={action}>
        <p><label for="desc">Desc</label> <input type="text" name="desc" id="desc" value={form.desc} placeholder="pcap-all" readonly={editing !== undefined} />{' '}
          <small>{editing === undefined ? 'names the target and its log file' : 'names the target: it cannot change'}</small></p>
        <p><label for="mode">Mode</label> <select name="mode" id="mode">
          {['FILE', 'RCLONE'].map((m) => <option value={m} selected={form.mode.toUpperCase() === m}>{m}</option>)}
        </select></p>
        <p><label for="path">Path</label> <input type="text" name="path" id="path" value={form.path} placeholder="/mnt/remote0/push/all" />{' '}
          <small>FILE: /dir/prefix → /dir/prefix_&lt;name&gt;.pcap; RCLONE: remote:dir/prefix</small></p>
        <p><label for="split">Split</label> <input type="text" name="split" id="split" value={form.split} placeholder="--split-time 60e9" />{' '}
          <small>--split-time &lt;nanoseconds&gt; or --split-byte &lt;bytes&gt;</small></p>
        <p><label for="fileName">FileName</label> <select name="fileName" id="fileName">
          {FILE_NAME_FORMATS.map((f) => <option value={f} selected={form.fileName === f}>{f}</option>)}
        </select></p>
        <p><label for="filterBpf">FilterBPF</label> <input type="text" name="filterBpf" id="filterBpf" value={form.filterBpf} placeholder="net 192.168.1.0/24 and tcp" />{' '}
          <small>libpcap syntax; empty: every packet</small></p>
        <p><label for="interface">Interface</label> <select name="interface" id="interface">
          {names.map((n) => <option value={n} selected={form.interface === n}>{n}</option>)}
        </select></p>
        <p><label for="spoolSize">Spool size</label> <input type="text" name="spoolSize" id="spoolSize" value={form.spoolSize} placeholder="1GiB" disabled={form.mode.toUpperCase() !== 'RCLONE'} />{' '}
          <small>RCLONE only: closed splits wait here for upload; empty: {editing === undefined ? '1GiB' : 'unchanged'}</small></p>
        <button type="submit">{editing === undefined ? 'Create push target' : 'Save push target'}</button>{' '}
        {editing === undefined ? null : <a href="/push">Cancel</a>}
      </form>
      <script dangerouslySetInnerHTML={{ __html: SPOOL_SWITCH }} />
    </div>
  );
}

function TargetRow({ t }: { t: PushTargetView }) {
  const s = t.stats;
  const dropped = Object.entries(s.dropped).filter(([, n]) => n);
  return (
    <tr id={`target-${t.desc}`}>
      <td>{t.desc}</td>
      <td>{t.mode.toUpperCase()}</td>
      <td>{t.path}</td>
      <td>{t.split}</td>
      <td>{t.fileName}</td>
      <td class="filter">{t.filterBpf ?? <small>every packet</small>}</td>
      <td>{t.interface}</td>
      <td class="state-cell"><span class={`state ${s.state}`}>{s.state}</span>{s.error ? <div><small>{s.error}</small></div> : null}</td>
      <td class="num files">{fmt(s.files)}</td>
      <td class="num bytes">{bytesText(s.bytes)}</td>
      <td class="num packets">{fmt(s.packets)}</td>
      <td class="num filtered">{fmt(s.filteredOut)}</td>
      <td>{s.currentFile ? <span title={s.currentFile}>{basename(s.currentFile)}</span> : dash}</td>
      <td>{dropped.length ? dropped.map(([reason, n]) => `${reason} ${fmt(n)}`).join(', ') : 'none'}</td>
      <td class="actions">
        <a href={`${targetLink(t.desc)}/edit`}>Edit</a>{' '}
        <a href={`${targetLink(t.desc)}/log`}>Log</a>{' '}
        <form method="post" action={`${targetLink(t.desc)}/delete`} data-confirm={`Delete push target ${t.desc}? The files it pushed stay where they are.`} onsubmit="return confirm(this.dataset.confirm)">
          <button type="submit">Delete</button>
        </form>
      </td>
    </tr>
  );
}

function Uploads({ targets }: { targets: PushTargetView[] }) {
  const rclone = targets.filter((t) => t.mode === 'rclone');
  return (
    <div id="uploads">
      {rclone.length ? (
        <>
          <h2>RCLONE uploads</h2>
          <table>
            <thead><tr><th>Desc</th><th>Uploaded</th><th>Spool</th><th>Retries</th><th>Failures</th><th>Last error</th><th>Lag</th></tr></thead>
            <tbody>
              {rclone.map((t) => {
                const u = t.upload;
                return (
                  <tr id={`upload-${t.desc}`}>
                    <td>{t.desc}</td>
                    {u ? (
                      <>
                        <td class="num">{fmt(u.uploaded)} files, {bytesText(u.uploadedBytes)}</td>
                        <td class="num">{fmt(u.spoolFiles)} files, {bytesText(u.spoolBytes)} of {bytesText(u.spoolBound)}</td>
                        <td class="num">{fmt(u.retries)}</td>
                        <td class="num">{fmt(u.failures)}</td>
                        <td>{u.lastError ?? dash}</td>
                        <td class="num">{fmt(Math.round(u.lagSeconds))} s</td>
                      </>
                    ) : <td colspan={6}><small>not uploading</small></td>}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      ) : null}
    </div>
  );
}

const defaultForm = (ctx: ApiContext): TargetForm => ({
  desc: '', mode: 'FILE', path: '', split: '--split-time 60e9', fileName: FILE_NAME_FORMATS[0], filterBpf: '',
  interface: ctx.registry.packetInterfaces()[0]?.name ?? '', spoolSize: '',
});

function Messages({ note, error }: { note?: string; error?: string }) {
  return <>{note ? <div class="note">{note}</div> : null}{error ? <div class="error">{error}</div> : null}</>;
}

function PushPage({ ctx, push, draft, note, error }: { ctx: ApiContext; push: PushTargets; draft?: TargetForm; note?: string; error?: string }) {
  const targets = push.list();
  return (
    <Layout title="Push" problems={problemTexts(ctx)} ctx={ctx}>
      <style dangerouslySetInnerHTML={{ __html: STYLE }} />
      <h1>Push targets</h1>
      <Messages note={note} error={error} />
      <p><small>Each target pushes the packets of one packet interface (after its FilterBPF) in splits, as FMADIO's push_realtime does; a split is written under a temporary name and renamed when it is complete. Files, bytes and packets count closed splits since the target last started (an edit restarts it). Logs: {push.logDir}/push_&lt;Desc&gt;_YYYYMMDD_HHMM.</small></p>
      <table>
        <thead><tr><th>Desc</th><th>Mode</th><th>Path</th><th>Split</th><th>File name</th><th>Filter</th><th>Interface</th><th>State</th><th>Files</th><th>Bytes</th><th>Packets</th><th>Filtered out</th><th>Current file</th><th>Dropped</th><th></th></tr></thead>
        <tbody id="targets">
          {targets.length ? targets.map((t) => <TargetRow t={t} />) : <tr><td colspan={15}><small>No push targets.</small></td></tr>}
        </tbody>
      </table>
      <Uploads targets={targets} />
      <h2 id="new-target">New push target</h2>
      <TargetFormCard ctx={ctx} form={draft ?? defaultForm(ctx)} />
      <script dangerouslySetInnerHTML={{ __html: refreshScript(['targets', 'uploads'], 2000) }} />
    </Layout>
  );
}

function EditPage({ ctx, target, draft, error }: { ctx: ApiContext; target: PushTargetView; draft?: TargetForm; error?: string }) {
  return (
    <Layout title={`Push target ${target.desc}`} problems={problemTexts(ctx)} ctx={ctx}>
      <style dangerouslySetInnerHTML={{ __html: STYLE }} />
      <h1><a href="/push">Push targets</a> › {target.desc}</h1>
      <Messages error={error} />
      <TargetFormCard ctx={ctx} form={draft ?? formOf(target)} editing={target.desc} />
    </Layout>
  );
}

function LogPage({ ctx, push, desc }: { ctx: ApiContext; push: PushTargets; desc: string }) {
  const log = push.log(desc, LOG_LINES);
  return (
    <Layout title={`Log of push target ${desc}`} problems={problemTexts(ctx)} ctx={ctx}>
      <style dangerouslySetInnerHTML={{ __html: STYLE }} />
      <h1><a href="/push">Push targets</a> › {desc} › log</h1>
      <div id="log">
        <p>{log.file ? <>The last {LOG_LINES} lines of <code>{push.logDir}/{log.file}</code>.</> : 'No log yet: it starts when the target runs on its interface.'}</p>
        <pre class="card log">{log.lines.join('\n')}</pre>
      </div>
      <script dangerouslySetInnerHTML={{ __html: refreshScript(['log'], 2000) }} />
    </Layout>
  );
}

function NoSuchTarget({ ctx }: { ctx: ApiContext }) {
  return (
    <Layout title="No such push target" problems={problemTexts(ctx)} ctx={ctx}>
      <h1>No such push target</h1>
      <p>It may have been deleted. <a href="/push">All push targets</a></p>
    </Layout>
  );
}

function Unavailable({ ctx }: { ctx: ApiContext }) {
  return (
    <Layout title="Push" problems={problemTexts(ctx)} ctx={ctx}>
      <h1>Push targets</h1>
      <p>Push targets are not available in this collector.</p>
    </Layout>
  );
}

/** /push, a target's edit form and log, and the forms' handlers. */
export function pushPages(ctx: ApiContext): Hono {
  const app = new Hono();
  const push = ctx.push;
  if (!push) {
    app.get('/push', (c) => c.html(<Unavailable ctx={ctx} />));
    return app;
  }
  const find = (desc: string) => push.list().find((t) => t.desc === desc);
  /** Runs a change; a refusal goes back to `errorPath` with the form kept. */
  const change = async (c: Context, errorPath: string, form: TargetForm | undefined, apply: () => Promise<string>) => {
    const back = (path: string, kind: FlashKind, text: string) => redirectWith(c, path, kind, text);
    try {
      return back('/push', 'note', await apply());
    } catch (err) {
      if (!(err instanceof PushTargetError)) throw err;
      return back(form ? `${errorPath}?draft=${keepDraft(form)}` : errorPath, 'error', err.message);
    }
  };

  app.get('/push', (c) => c.html(<PushPage ctx={ctx} push={push} draft={draftOf(c)} {...flashOf(c)} />));
  app.post('/push', async (c) => {
    const form = formFields(await c.req.parseBody());
    return change(c, '/push', form, async () => {
      const t = await push.create(createInput(form));
      return `Push target ${t.desc} created.`;
    });
  });
  app.get('/push/:desc/edit', (c) => {
    const target = find(c.req.param('desc'));
    if (!target) return c.html(<NoSuchTarget ctx={ctx} />, 404);
    return c.html(<EditPage ctx={ctx} target={target} draft={draftOf(c)} {...flashOf(c)} />);
  });
  app.post('/push/:desc/edit', async (c) => {
    const desc = c.req.param('desc');
    const form = formFields(await c.req.parseBody());
    const target = find(desc);
    if (!target) return redirectWith(c, '/push', 'error', 'That push target no longer exists: nothing was changed.');
    return change(c, `${targetLink(desc)}/edit`, form, async () => {
      const patch = changeOf(target, form);
      const fields = Object.keys(patch);
      if (!fields.length) return `Push target ${desc}: nothing changed.`;
      await push.update(desc, patch);
      return `Push target ${desc} saved (${fields.join(', ')} changed).`;
    });
  });
  app.post('/push/:desc/delete', async (c) => {
    const desc = c.req.param('desc');
    return change(c, '/push', undefined, async () => {
      await push.remove(desc);
      return `Push target ${desc} deleted. The files it pushed stay where they are.`;
    });
  });
  app.get('/push/:desc/log', (c) => {
    const desc = c.req.param('desc');
    if (!find(desc)) return c.html(<NoSuchTarget ctx={ctx} />, 404);
    return c.html(<LogPage ctx={ctx} push={push} desc={desc} />);
  });
  return app;
}
