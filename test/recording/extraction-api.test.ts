// Recording through the running collector: turned on over REST, packets streamed back
// by window, filter and process (from a CONNECT event sent over ZMQ), the ntopng URLs
// scripts use, refusals that change nothing, the token and the audit line, and jobs
// that survive a restart. Every pcap is read back by tshark.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fixture } from '../support/fixtures.ts';
import { connectProducer, startWithFlags } from '../support/flowbridge.ts';
import { describeAsRoot } from '../support/privileges.ts';
import type { Producer } from '../support/producer.ts';
import { waitFor } from '../support/wait.ts';
import { payload, sendTcp, sendUdp, tempDir, tsharkRead } from './support.ts';

const ZMQ_PORT = 18300;
const UDP_PORT = 18301;
const TCP_PORT = 18302;
const TOKEN = 'recording-test-token';
let fb: Awaited<ReturnType<typeof startWithFlags>>;
let producer: Producer;
const out = tempDir('api-out');
const auth = { authorization: `Bearer ${TOKEN}` };

async function download(path: string): Promise<{ status: number; headers: Headers; file: string; body: Buffer }> {
  const r = await fb.api(path, { headers: auth });
  const body = Buffer.from(await r.arrayBuffer());
  const file = join(out, `${Math.random().toString(36).slice(2)}.pcap`);
  writeFileSync(file, body);
  return { status: r.status, headers: r.headers, file, body };
}

describeAsRoot('recording through the REST API', 'capture on lo', () => {
  let begin = 0;
  let end = 0;
  const udp = Array.from({ length: 4 }, (_, i) => payload('U', i, 1200));
  const tcp = payload('C', 0, 9000);
  let clientPort = 0;

  beforeAll(async () => {
    fb = await startWithFlags(['-i', `tcp://127.0.0.1:${ZMQ_PORT}c`, '-i', 'lo', '--bpf', `lo=port ${UDP_PORT} or port ${TCP_PORT}`, '--api-token', TOKEN]);
    producer = await connectProducer(fb, `tcp://127.0.0.1:${ZMQ_PORT}`);
    await waitFor(async () => ((await (await fb.api('/api/v1/interfaces/lo')).json()) as { status: { state: string } }).status.state === 'running', 'lo to run');
  });
  afterAll(async () => {
    producer?.close();
    await fb?.stop();
  });

  it('refuses bad settings and changes nothing, then turns recording on', async () => {
    const patch = (body: unknown, headers: Record<string, string> = auth) =>
      fb.api('/api/v1/interfaces/lo/recording', { method: 'PATCH', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await patch({ enabled: true })).status).toBe(400);
    expect(await (await patch({ maxDiskSpace: 'lots' })).json()).toEqual({ error: expect.stringMatching(/maxDiskSpace "lots" is not a size/) });
    expect((await patch({ maxDiskSpace: '64MB' }, {})).status).toBe(401);
    expect((await (await fb.api('/api/v1/interfaces/lo/recording')).json())).toMatchObject({ enabled: false, settings: null });
    expect((await fb.api(`/api/v1/interfaces/${encodeURIComponent(`tcp://127.0.0.1:${ZMQ_PORT}c`)}/recording`)).status).toBe(400);

    const on = await patch({ maxDiskSpace: '64MB', maxFileSeconds: 30 });
    expect(on.status).toBe(200);
    expect(await on.json()).toMatchObject({ enabled: true, settings: { enabled: true, maxDiskBytes: 64_000_000, maxFileSeconds: 30, snaplen: 65535 } });
    await waitFor(async () => ((await (await fb.api('/api/v1/interfaces/lo/recording')).json()) as { state: string }).state === 'running', 'recording to run');
    // Saved: the data directory holds it for the next start.
    expect(JSON.parse(readFileSync(join(fb.dataDir, 'recording-settings.json'), 'utf8'))).toMatchObject({ lo: { enabled: true, maxDiskBytes: 64_000_000 } });
  });

  it('streams the packets of a window, a filter and a process, exactly as sent', async () => {
    begin = Date.now() / 1000 - 0.001;
    await sendUdp(18351, UDP_PORT, udp);
    clientPort = await sendTcp(TCP_PORT, tcp);
    await producer.send('flow', {
      ...fixture('nprobe-mini-connect'), IF_NAME: 'lo',
      IPV4_LOCAL_ADDR: '127.0.0.1', IPV4_REMOTE_ADDR: '127.0.0.1', L4_LOCAL_PORT: clientPort, L4_REMOTE_PORT: TCP_PORT,
      LOCAL_PROCESS: { PID: 4343, UID: 1001, UID_NAME: 'bob', PROCESS_PATH: '/usr/bin/wget', PROCESS_CMDLINE: 'wget' },
    });
    await waitFor(async () => {
      const r = (await (await fb.api(`/api/v1/interfaces/lo/flows?process=wget`)).json()) as { total: number };
      return r.total === 1;
    }, 'the CONNECT event to merge');
    await waitFor(async () => ((await (await fb.api('/api/v1/interfaces/lo/recording')).json()) as { packets: number }).packets >= 4 + 8, 'packets recorded');
    end = Date.now() / 1000 + 0.5;
    await new Promise((r) => setTimeout(r, 600)); // the window's end has passed: every packet of it is written

    const all = await download(`/api/v1/interfaces/lo/pcap?begin=${begin}&end=${end}`);
    expect(all.status).toBe(200);
    expect(all.headers.get('content-type')).toBe('application/vnd.tcpdump.pcap');
    expect(all.headers.get('content-disposition')).toBe(`attachment; filename="${begin}-${end}.pcap"`);
    const packets = tsharkRead(all.file);
    expect(packets.filter((p) => p.protocol === 'udp').map((p) => p.payload)).toEqual(udp);
    expect(Buffer.concat(packets.filter((p) => p.srcPort === clientPort).map((p) => p.payload))).toEqual(tcp);

    const byBpf = await download(`/api/v1/interfaces/lo/pcap?begin=${begin}&end=${end}&bpf=${encodeURIComponent('udp')}`);
    expect(tsharkRead(byBpf.file).map((p) => p.payload)).toEqual(udp);
    const byPort = await download(`/api/v1/interfaces/lo/pcap?begin=${begin}&end=${end}&host=127.0.0.1&port=${UDP_PORT}`);
    expect(byPort.body).toEqual(byBpf.body);

    const byProcess = await download(`/api/v1/interfaces/lo/pcap?begin=${begin}&end=${end}&process=wget`);
    const tcpOnly = tsharkRead(byProcess.file);
    expect(tcpOnly.every((p) => p.protocol === 'tcp')).toBe(true);
    expect(Buffer.concat(tcpOnly.filter((p) => p.srcPort === clientPort).map((p) => p.payload))).toEqual(tcp);
    const byUser = await download(`/api/v1/interfaces/lo/pcap?begin=${begin}&end=${end}&user=bob`);
    expect(byUser.body).toEqual(byProcess.body);
    const byPid = await download(`/api/v1/interfaces/lo/pcap?begin=${begin}&end=${end}&process=4343`);
    expect(byPid.body).toEqual(byProcess.body);

    // The URLs of ntopng give the same bytes.
    const ntopng = await download(`/lua/rest/v2/get/pcap/live_extraction.lua?ifid=1&epoch_begin=${begin}&epoch_end=${end}&bpf_filter=udp`);
    expect(ntopng.body).toEqual(byBpf.body);
    const legacy = await download(`/lua/live_traffic_extraction.lua?ifid=1&epoch_begin=${begin}&epoch_end=${end}&bpf_filter=udp`);
    expect(legacy.body).toEqual(byBpf.body);
  });

  it('says why an extraction is empty, and refuses bad requests with what is accepted', async () => {
    const none = await download(`/api/v1/interfaces/lo/pcap?begin=${begin}&end=${end}&process=no-such-process`);
    expect(none.status).toBe(200);
    expect(none.headers.get('x-flowbridge-empty-reason')).toBe('filter-matched-nothing');
    expect(tsharkRead(none.file)).toEqual([]);
    const future = await download(`/api/v1/interfaces/lo/pcap?begin=${end + 3600}&end=${end + 3601}`);
    expect(future.headers.get('x-flowbridge-empty-reason')).toBe('nothing-in-window');

    const bad = async (query: string, status: number, message: RegExp) => {
      const r = await fb.api(`/api/v1/interfaces/lo/pcap?${query}`, { headers: auth });
      expect(r.status).toBe(status);
      expect(((await r.json()) as { error: string }).error).toMatch(message);
    };
    await bad(`begin=${end}&end=${begin}`, 400, /begin .* is after end/);
    await bad(`begin=yesterday&end=${end}`, 400, /begin "yesterday" is not a time: give epoch seconds/);
    await bad(`begin=${begin}`, 400, /begin and end are required/);
    await bad(`begin=${begin}&end=${end}&bpf=port%20banana`, 400, /BPF filter "port banana": .*/);
    await bad(`begin=${begin}&end=${end}&colour=red`, 400, /unknown parameter colour: accepted are begin, end, bpf/);
    await bad(`begin=${begin}&end=${end}&host=example`, 400, /host "example" is not an IPv4 or IPv6 address/);
    await bad(`begin=1000&end=${end}`, 400, /larger than the store/);
    const unknown = await fb.api(`/api/v1/interfaces/eth9/pcap?begin=${begin}&end=${end}`, { headers: auth });
    expect(unknown.status).toBe(404);
  });

  it('needs the token for packets even for reads, and writes an audit line per download', async () => {
    const r = await fb.api(`/api/v1/interfaces/lo/pcap?begin=${begin}&end=${end}`);
    expect(r.status).toBe(401);
    expect((await fb.api('/api/v1/interfaces/lo/recording')).status).toBe(200); // status is not packets
    const lines = readFileSync(join(fb.dataDir, 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.some((l) => l.user === 'token' && l.action === 'pcap.download' && l.route === '/api/v1/interfaces/lo/pcap' && (l.parameters as { process?: string }).process === 'wget' && (l.bytes as number) > 24)).toBe(true);
    expect(lines.find((l) => l.route === '/lua/live_traffic_extraction.lua' && l.result === 'sent')).toMatchObject({ interface: 'lo', target: 'lo', address: '127.0.0.1' });
    // The refusal above is written down too.
    expect(lines.at(-1)).toMatchObject({ user: 'anonymous', action: 'pcap.download', result: expect.stringMatching(/^401: /) });
  });

  it('shows the recording and the extractions in /metrics', async () => {
    const text = await (await fb.api('/metrics')).text();
    const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('flowbridge_recording_packets_total{interface="lo"}')).toBeGreaterThanOrEqual(12);
    expect(value('flowbridge_recording_files{interface="lo"}')).toBe(1);
    expect(value('flowbridge_recording_disk_bound_bytes{interface="lo"}')).toBe(64_000_000);
    expect(value('flowbridge_recording_up{interface="lo",state="running"}')).toBe(1);
    expect(value('flowbridge_extractions_streamed_total{outcome="sent"}')).toBe(8);
    expect(value('flowbridge_extractions_streamed_total{outcome="empty"}')).toBe(2);
    expect(value('flowbridge_extractions_streamed_total{outcome="refused"}')).toBe(7);
    expect(text).not.toMatch(/flowbridge_recording_packets_total\{interface="tcp/);
  });

  it('runs jobs in the background, keeps them across a restart, and deletes them with their files', async () => {
    const post = (body: unknown) => fb.api('/api/v1/extractions', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post({ interface: 'lo', begin: String(end), end: String(begin) })).status).toBe(400);
    expect((await post({ interface: 'eth9', begin: String(begin), end: String(end) })).status).toBe(404);
    const created = await post({ interface: 'lo', begin: String(begin), end: String(end), process: 'wget' });
    expect(created.status).toBe(202);
    const job = (await created.json()) as { id: string; status: string };
    expect(['queued', 'running', 'completed']).toContain(job.status);
    const done = await waitFor(async () => {
      const j = (await (await fb.api(`/api/v1/extractions/${job.id}`)).json()) as { status: string; files: { id: string; name: string }[]; packets: number };
      return j.status === 'completed' ? j : undefined;
    }, 'the job to complete');
    expect(done.files).toHaveLength(1);
    const file = await download(`/api/v1/extractions/${job.id}/files/${done.files[0].id}`);
    expect(Buffer.concat(tsharkRead(file.file).filter((p) => p.srcPort === clientPort).map((p) => p.payload))).toEqual(tcp);
    expect(tsharkRead(file.file)).toHaveLength(done.packets);
    expect((await fb.api(`/api/v1/extractions/${job.id}/files/${done.files[0].id}`)).status).toBe(401);
    expect((await fb.api(`/api/v1/extractions/${job.id}/stop`, { method: 'POST', headers: auth })).status).toBe(409);

    // A restart: the job and its file are still there; recording resumes with its saved settings.
    const dataDir = fb.dataDir;
    producer.close();
    await fb.stop();
    fb = await startWithFlags(['-i', `tcp://127.0.0.1:${ZMQ_PORT}c`, '-i', 'lo', '--bpf', `lo=port ${UDP_PORT} or port ${TCP_PORT}`, '--api-token', TOKEN], dataDir);
    producer = await connectProducer(fb, `tcp://127.0.0.1:${ZMQ_PORT}`);
    const listed = (await (await fb.api('/api/v1/extractions')).json()) as { jobs: { id: string; status: string }[] };
    expect(listed.jobs).toEqual([expect.objectContaining({ id: job.id, status: 'completed' })]);
    expect((await download(`/api/v1/extractions/${job.id}/files/1`)).body).toEqual(file.body);
    expect((await (await fb.api('/api/v1/interfaces/lo/recording')).json())).toMatchObject({ enabled: true, settings: { maxDiskBytes: 64_000_000 } });
    // Packets recorded before the restart are still extractable.
    const again = await download(`/api/v1/interfaces/lo/pcap?begin=${begin}&end=${end}&bpf=udp`);
    expect(tsharkRead(again.file).map((p) => p.payload)).toEqual(udp);

    expect((await fb.api(`/api/v1/extractions/${job.id}`, { method: 'DELETE', headers: auth })).status).toBe(204);
    expect((await fb.api(`/api/v1/extractions/${job.id}`)).status).toBe(404);
  });
});
