/** @jsxImportSource hono/jsx */
// Continuous recording as an operator sees it: the settings form on a packet
// interface's page (applied through the same checks as PATCH /api/v1/interfaces/:id/recording,
// so a refusal reads the same and changes nothing), the recording status page
// (/recording) the footer badge leads to, and the footer itself, refreshed in place.
import { Hono } from 'hono';
import type { MonitoredInterface, PacketInterface } from '../interfaces/interface.ts';
import type { RecordingStats } from '../model/recording.ts';
import type { InterfaceTelemetry } from '../model/telemetry.ts';
import { RecordingSettingsError, type RecordingInput } from '../recording/settings.ts';
import type { ApiContext } from './context.ts';
import { redirectWith, type FlashKind } from './flash.ts';
import { bytesText, Footer, fmt, ifaceLink, Layout, refreshScript, timeText } from './layout.tsx';

const dash = '—';

/** Bytes as the settings form shows them, in a form the API reads back exactly: 64000000 → "64MB", 2^28 → "256MiB". */
export function sizeInput(n: number): string {
  const units: [string, number][] = [['TB', 1e12], ['TiB', 1024 ** 4], ['GB', 1e9], ['GiB', 1024 ** 3], ['MB', 1e6], ['MiB', 1024 ** 2], ['KB', 1e3], ['KiB', 1024]];
  const exact = units.filter(([, u]) => n >= u && n % u === 0).sort((a, b) => n / a[1] - n / b[1]);
  return exact.length ? `${n / exact[0][1]}${exact[0][0]}` : String(n);
}

function durationText(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const parts = [d ? `${d} d` : '', h ? `${h} h` : '', m ? `${m} min` : '', `${s % 60} s`].filter(Boolean);
  return parts.slice(0, 3).join(' ');
}

/** The settings form of a packet interface (none when this collector has no recordings). */
export function RecordingSettingsCard({ ctx, iface }: { ctx: ApiContext; iface: MonitoredInterface }) {
  if (iface.kind !== 'packet' || !ctx.recordings) return null;
  const p = iface as PacketInterface;
  const request = ctx.recordings.request(p);
  const r = p.recording();
  return (
    <section id="recording">
      <h2>Recording</h2>
      <p id="recording-state">
        {r.enabled ? (
          <>
            <span class={`state ${r.state}`}>{r.state}</span>{r.error ? <> · {r.error}</> : null}
            {' '}· {fmt(r.packets)} packets, {bytesText(r.diskBytes)} of {bytesText(r.maxDiskBytes)} on disk ·{' '}
            <a href="/recording">recording status</a> · <a href={`${ifaceLink(iface)}/flows`}>extract from the flows page</a>
          </>
        ) : <>Not recording.</>}
      </p>
      <div class="card">
        <form class="settings" method="post" action={`${ifaceLink(iface)}/recording`}>
          <p><label><input type="checkbox" name="enabled" id="recording-enabled" checked={request?.enabled ?? false} /> Enabled</label></p>
          <p><label for="max-disk-space">Max disk space</label> <input type="text" name="maxDiskSpace" id="max-disk-space" value={request ? sizeInput(request.maxDiskBytes) : ''} placeholder="1GB" /> <small>required to record: the oldest files go when the store passes it</small></p>
          <p><label for="max-file-size">Max file size</label> <input type="text" name="maxFileSize" id="max-file-size" value={request ? sizeInput(request.maxFileBytes) : ''} placeholder="256MiB" /></p>
          <p><label for="max-file-seconds">Max file seconds</label> <input type="text" name="maxFileSeconds" id="max-file-seconds" value={request ? String(request.maxFileSeconds) : ''} placeholder="60" /></p>
          <p><label for="snaplen">Snapshot length</label> <input type="text" name="snaplen" id="snaplen" value={request ? String(request.snaplen) : ''} placeholder="65535" /> <small>bytes kept of each packet</small></p>
          <p><small>Sizes as 500MB or 2GiB. Empty fields keep their current value (or the default). Saved, and kept across restarts.</small></p>
          <button type="submit">Apply recording settings</button>
        </form>
      </div>
    </section>
  );
}

/** The form's fields as the API's input: empty fields left out, whole numbers as numbers. */
function recordingInput(form: Record<string, unknown>): RecordingInput {
  const text = (k: string) => (typeof form[k] === 'string' ? (form[k] as string).trim() : '');
  const whole = (s: string) => (/^\d{1,15}$/.test(s) ? Number(s) : s);
  const input: RecordingInput = { enabled: form.enabled === 'on' };
  if (text('maxDiskSpace')) input.maxDiskSpace = text('maxDiskSpace');
  if (text('maxFileSize')) input.maxFileSize = text('maxFileSize');
  if (text('maxFileSeconds')) input.maxFileSeconds = whole(text('maxFileSeconds'));
  if (text('snaplen')) input.snaplen = whole(text('snaplen'));
  return input;
}

function Row({ name, children }: { name: string; children: unknown }) {
  return <tr><th>{name}</th><td>{children}</td></tr>;
}

function RecordingStatus({ t, r }: { t: InterfaceTelemetry; r: RecordingStats }) {
  const dropped = Object.entries(r.dropped).filter(([, n]) => n);
  const running = r.state === 'running' || r.state === 'paused';
  return (
    <table class="recording-status">
      <tbody>
        <Row name="State"><span class={`state ${r.state}`}>{r.state}</span>{r.error ? <> · {r.error}</> : null}</Row>
        <Row name="Since">{r.since ? <>{timeText(r.since)}{running ? ` (up ${durationText(Date.now() - r.since)})` : ''}</> : dash}</Row>
        <Row name="Packets">{fmt(r.packets)}</Row>
        <Row name="Bytes">{fmt(r.bytes)}</Row>
        <Row name="Files">{fmt(r.files)}</Row>
        <Row name="Disk used">{bytesText(r.diskBytes)} of {bytesText(r.maxDiskBytes)}{r.maxDiskBytes ? ` (${((100 * r.diskBytes) / r.maxDiskBytes).toFixed(1)}%)` : ''}</Row>
        <Row name="Oldest packet">{timeText(r.oldest)}</Row>
        <Row name="Newest packet">{timeText(r.newest)}</Row>
        <Row name="Deleted files">{fmt(r.deletedFiles)}</Row>
        <Row name="Dropped">{dropped.length ? dropped.map(([reason, n]) => `${reason} ${fmt(n)}`).join(', ') : 'none'}</Row>
        <Row name="Interface"><a href={ifaceLink(t)}>settings</a> · <a href={`${ifaceLink(t)}/flows`}>flows and extraction</a></Row>
      </tbody>
    </table>
  );
}

function RecordingPage({ ctx }: { ctx: ApiContext }) {
  const packet = ctx.telemetry.interfaces().filter((t) => t.kind === 'packet');
  return (
    <Layout title="Recording" problems={ctx.telemetry.problems().map((p) => p.text)} ctx={ctx}>
      <h1>Recording</h1>
      <div id="recordings">
        {packet.length ? null : <p>No packet interfaces: only packet interfaces record.</p>}
        {packet.map((t) => (
          <section id={`recording-${t.id}`}>
            <h2><a href={ifaceLink(t)}>{t.name}</a></h2>
            {t.recording?.enabled ? (
              <>
                <RecordingStatus t={t} r={t.recording} />
                <h2>Log</h2>
                <pre class="card log">{t.recording.log.length ? t.recording.log.join('\n') : 'No log lines yet.'}</pre>
              </>
            ) : <p>Not recording. <a href={ifaceLink(t)}>Turn it on on the interface page.</a></p>}
          </section>
        ))}
      </div>
      <script dangerouslySetInnerHTML={{ __html: refreshScript(['recordings'], 2000) }} />
    </Layout>
  );
}

/** /recording, the footer fragment, and the settings form's handler. */
export function recordingPages(ctx: ApiContext, find: (ref: string) => MonitoredInterface): Hono {
  const app = new Hono();
  app.get('/recording', (c) => c.html(<RecordingPage ctx={ctx} />));
  app.get('/footer', (c) => c.html(<Footer ctx={ctx} />));
  app.post('/interfaces/:id/recording', async (c) => {
    const iface = find(c.req.param('id'));
    const back = (kind: FlashKind, text: string) => redirectWith(c, ifaceLink(iface), kind, text, '#recording');
    if (iface.kind !== 'packet') return back('error', `${iface.name} is a ZMQ interface: only packet interfaces record`);
    if (!ctx.recordings) return back('error', 'recording is not available in this collector');
    const p = iface as PacketInterface;
    const input = recordingInput(await c.req.parseBody());
    if (!input.enabled && !ctx.recordings.request(p) && input.maxDiskSpace === undefined) return back('note', 'Recording stays off.');
    try {
      const saved = await ctx.recordings.change(p, input);
      return back('note', saved.enabled ? `Recording settings saved: recording with at most ${bytesText(saved.maxDiskBytes)} on disk.` : 'Recording settings saved: recording is off.');
    } catch (err) {
      if (err instanceof RecordingSettingsError) return back('error', err.message);
      if (err instanceof Error) return back('error', `the settings were saved, but applying them failed: ${err.message}`);
      throw err;
    }
  });
  return app;
}
