// REST API v1 over real HTTP against the running collector: every route, the error
// cases, auth on and off, and PATCH effects on dispatch.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import { openApiDocument } from '../../src/api/openapi.ts';
import type { FlowRecord } from '../../src/model/flow.ts';
import { fixture } from '../support/fixtures.ts';
import { connectProducer, startWithFlags } from '../support/flowbridge.ts';
import { isRoot } from '../support/root.ts';
import { frame, writePcap } from '../support/packets.ts';
import type { Producer } from '../support/producer.ts';
import { waitFor } from '../support/wait.ts';

const ZMQ = 'tcp://127.0.0.1:16500c';
const pcapFile = join(mkdtempSync(join(tmpdir(), 'fb-api-')), 'mirror.pcap');
const PCAP = `pcap:${pcapFile}`;
let fb: Awaited<ReturnType<typeof startWithFlags>>;
let producer: Producer;

const json = async <T = Record<string, unknown>>(r: Response | Promise<Response>) => (await r).json() as Promise<T>;
const patch = (id: string, body: unknown, headers: Record<string, string> = {}) =>
  fb.api(`/api/v1/interfaces/${encodeURIComponent(id)}`, { method: 'PATCH', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

beforeAll(async () => {
  // The mirrored traffic: the curl connection of the docker fixture, as captured.
  writePcap(pcapFile, [
    frame({ src: '172.17.0.2', dst: '93.184.216.34', protocol: 'tcp', sport: 54348, dport: 443, flags: 'S' }),
    frame({ src: '93.184.216.34', dst: '172.17.0.2', protocol: 'tcp', sport: 443, dport: 54348, flags: 'SA' }),
    frame({ src: '172.17.0.2', dst: '93.184.216.34', protocol: 'tcp', sport: 54348, dport: 443, flags: 'A', payload: 500 }),
  ]);
  fb = await startWithFlags(['-i', ZMQ, '-i', PCAP, '-i', 'fbnosuch1']);
  producer = await connectProducer(fb, 'tcp://127.0.0.1:16500');
});
afterAll(async () => {
  producer?.close();
  await fb?.stop();
});

describe('reads', () => {
  it('GET /healthz and /api/v1/status', async () => {
    expect(await json(fb.api('/healthz'))).toEqual({ ok: true });
    const status = await json<{ version: string; interfaces: unknown[]; curvePublicKey: null; problems: { interfaceId?: number; text: string }[]; uptimeSeconds: number }>(fb.api('/api/v1/status'));
    expect(status).toMatchObject({ version: '0.1.0', curvePublicKey: null });
    expect(status.interfaces).toHaveLength(3);
    expect(status.problems).toContainEqual({ interfaceId: 2, text: expect.stringMatching(/interface fbnosuch1: cannot open capture on fbnosuch1/) });
  });

  it('GET /api/v1/interfaces lists every interface with its kind, settings, state and counters', async () => {
    const { interfaces } = await json<{ interfaces: Record<string, unknown>[] }>(fb.api('/api/v1/interfaces'));
    expect(interfaces).toEqual([
      expect.objectContaining({ id: 0, name: ZMQ, kind: 'zmq', mirrored: false, companion: null, status: { state: 'running' }, collector: expect.objectContaining({ endpoints: ZMQ }) }),
      expect.objectContaining({ id: 1, name: PCAP, kind: 'packet', mirrored: false, capture: expect.objectContaining({ packets: 3 }) }),
      // Without root, libpcap refuses before it looks for the device.
      expect.objectContaining({ id: 2, name: 'fbnosuch1', status: { state: 'error', error: expect.stringMatching(isRoot ? /No such device/ : /permission/) } }),
    ]);
  });

  it('GET /api/v1/interfaces/:id by number or URL-encoded name; 404 otherwise', async () => {
    expect(await json(fb.api('/api/v1/interfaces/1'))).toMatchObject({ name: PCAP });
    expect(await json(fb.api(`/api/v1/interfaces/${encodeURIComponent(ZMQ)}`))).toMatchObject({ id: 0 });
    const missing = await fb.api('/api/v1/interfaces/eth42');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: expect.stringMatching(/no interface "eth42"/) });
    expect((await fb.api('/api/v1/nothing')).status).toBe(404);
  });

  it('GET flows with filters, and 400 for each bad parameter', async () => {
    const { total, flows } = await json<{ total: number; flows: FlowRecord[] }>(fb.api('/api/v1/interfaces/1/flows?host=93.184.216.34&port=443&sort=packets&limit=5'));
    expect(total).toBe(1);
    expect(flows[0]).toMatchObject({ protocol: 6, client: { ip: '172.17.0.2', port: 54348 }, packets: 3, seenBy: ['packets'] });
    for (const [query, message] of [
      ['limit=0', /limit "0" must be a whole number from 1 to 10000/],
      ['limit=abc', /limit/],
      ['sort=size', /sort "size" is not one of bytes, packets, lastSeen, firstSeen/],
      ['port=70000', /not a port number/],
      ['host=example.com', /is not an IP address/],
      ['colour=red', /unknown parameter colour/],
    ] as const) {
      const r = await fb.api(`/api/v1/interfaces/1/flows?${query}`);
      expect(r.status, query).toBe(400);
      expect((await r.json()).error).toMatch(message);
    }
  });

  it('GET /api/v1/exporters shows sources, losses, rejections and samples', async () => {
    await producer.send('flow', fixture('ebpflowexport-retransmit'), { layout: 3, sourceId: 9, msgId: 1 });
    await producer.send('flow', fixture('ebpflowexport-retransmit'), { layout: 3, sourceId: 9, msgId: 5 });
    await producer.send('flow', { ...fixture('ebpflowexport-retransmit'), PROTOCOL: 'tcp' }, { layout: 3, sourceId: 9, msgId: 6 });
    const view = await waitFor(async () => {
      const v = await json<{ exporters: { sourceId: string; lostMessages: number; interface: string }[]; samples: { reason: string; detail: string }[]; interfaces: { rejected: Record<string, number>; rejectedByTopic: Record<string, Record<string, number>>; bounds: Record<string, { size: number; max: number; dropped: number }> }[] }>(fb.api('/api/v1/exporters'));
      return v.samples.length > 0 && v.exporters.some((e) => e.sourceId === '9') ? v : undefined;
    }, 'exporter stats');
    expect(view.exporters.find((e) => e.sourceId === '9')).toMatchObject({ interface: ZMQ, lostMessages: 3 });
    expect(view.interfaces[0].rejected).toMatchObject({ schema: 1 });
    expect(view.interfaces[0].rejectedByTopic).toEqual({ flow: { schema: 1 } });
    expect(view.interfaces[0].bounds.exporters).toMatchObject({ max: 4096, dropped: 0 });
    expect(view.interfaces[0].bounds.exporters.size).toBeGreaterThanOrEqual(1);
    expect(view.samples[0]).toMatchObject({ reason: 'schema', detail: '/PROTOCOL must be equal to one of the allowed values (6, 17)' });
  });

  it('GET /metrics is Prometheus text with the flowbridge_ series', async () => {
    const r = await fb.api('/metrics');
    expect(r.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await r.text();
    for (const name of ['flowbridge_zmq_messages_total', 'flowbridge_events_accepted_total', 'flowbridge_dispatch_deliveries_total', 'flowbridge_capture_packets_total', 'flowbridge_flows_active', 'flowbridge_process_flow_bytes']) {
      expect(text).toContain(`# TYPE ${name}`);
    }
    expect(text).toMatch(new RegExp(`flowbridge_capture_packets_total\\{interface="${PCAP.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}"\\} 3`));
  });
});

describe('changes', () => {
  it('refuses bad PATCH bodies with what is accepted, and changes nothing', async () => {
    const cases: [string, unknown, number, RegExp][] = [
      [PCAP, '{not json', 400, /not valid JSON/],
      [PCAP, { mirored: true }, 400, /unknown field mirored \(accepted: mirrored, companion\)/],
      [PCAP, { mirrored: 'yes' }, 400, /mirrored must be true or false/],
      [PCAP, {}, 400, /nothing to change/],
      [PCAP, [], 400, /must be a JSON object/],
      [ZMQ, { mirrored: true }, 400, /only packet interfaces can be marked mirrored/],
      [ZMQ, { companion: PCAP }, 400, /is not marked mirrored, so it cannot be a companion/],
      [ZMQ, { companion: 'eth77' }, 400, /eth77 is not a monitored packet interface/],
      [PCAP, { companion: ZMQ }, 400, /only a ZMQ interface has a companion/],
      ['eth77', { mirrored: true }, 404, /no interface "eth77"/],
    ];
    for (const [id, body, status, message] of cases) {
      const r = await patch(id, body);
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect((await r.json()).error).toMatch(message);
    }
    // What another site's form can make a browser send: JSON text without the JSON content type.
    const plain = await fb.api(`/api/v1/interfaces/${encodeURIComponent(PCAP)}`, { method: 'PATCH', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ mirrored: true }) });
    expect(plain.status).toBe(415);
    expect((await plain.json()).error).toMatch(/the body must be JSON, sent with Content-Type: application\/json \(got "text\/plain"\)/);
    const { interfaces } = await json<{ interfaces: { mirrored: boolean; companion: string | null }[] }>(fb.api('/api/v1/interfaces'));
    expect(interfaces.map((i) => [i.mirrored, i.companion])).toEqual([[false, null], [false, null], [false, null]]);
  });

  it('marks mirrored, chooses the companion, and events then merge into its flows', async () => {
    expect(await json(patch(PCAP, { mirrored: true }))).toMatchObject({ mirrored: true, notes: [] });
    expect(await json(patch(ZMQ, { companion: PCAP }))).toMatchObject({ companion: PCAP });
    await producer.send('flow', fixture('ebpflowexport-connect-docker')); // INTERFACE_NAME eth0: only the companion matches
    const flow = await waitFor(async () => (await json<{ flows: FlowRecord[] }>(fb.api('/api/v1/interfaces/1/flows?process=curl'))).flows[0], 'the merged flow');
    expect(flow).toMatchObject({ seenBy: ['packets', 'events'], packets: 3, process: { pid: 30197, path: '/usr/bin/curl' }, container: { name: 'sleepy_haibt' } });
    const cleared = await json<{ companion: null }>(patch(ZMQ, { companion: null }));
    expect(cleared.companion).toBeNull();
  });
});

describe('auth', () => {
  const token = 'correct-horse-battery';
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

  it('with a token: changes need it, reads do not', async () => {
    const app = createApp({ ...fb.context, auth: { token, protectReads: false } });
    const call = (path: string, init?: RequestInit) => app.request(path, init);
    const body = { method: 'PATCH', body: JSON.stringify({ mirrored: true }), headers: { 'content-type': 'application/json' } };
    expect((await call('/api/v1/interfaces/1', body)).status).toBe(401);
    expect(await (await call('/api/v1/interfaces/1', body)).json()).toEqual({ error: expect.stringMatching(/needs "Authorization: Bearer <token>"/) });
    expect((await call('/api/v1/interfaces/1', { ...body, headers: { ...body.headers, ...bearer('wrong-token') } })).status).toBe(401);
    expect((await call('/api/v1/interfaces/1', { ...body, headers: { ...body.headers, ...bearer(token) } })).status).toBe(200);
    expect((await call('/api/v1/interfaces')).status).toBe(200);
  });

  it('with protectReads: reads need it too, /healthz never', async () => {
    const app = createApp({ ...fb.context, auth: { token, protectReads: true } });
    expect((await app.request('/api/v1/interfaces')).status).toBe(401);
    expect((await app.request('/metrics')).status).toBe(401);
    expect((await app.request('/api/v1/interfaces', { headers: bearer(token) })).status).toBe(200);
    expect((await app.request('/healthz')).status).toBe(200);
    const page = await app.request('/');
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe('/login?next=%2F');
  });
});

describe('OpenAPI document', () => {
  it('describes every API route of the app, and nothing that is not one', () => {
    const app = createApp(fb.context);
    const toOpenApi = (path: string) => path.replace(/:(\w+)/g, '{$1}');
    const served = new Set(app.routes
      .filter((r) => r.method !== 'ALL' && (r.path.startsWith('/api/') || r.path === '/metrics' || r.path === '/healthz'))
      .map((r) => `${r.method} ${toOpenApi(r.path)}`));
    const doc = openApiDocument('test');
    const described = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)));
    expect([...described].sort()).toEqual([...served].sort());
  });
});
