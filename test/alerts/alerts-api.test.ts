// POST /api/v1/alerts over real HTTP: one EVE record as JSON, several as NDJSON or a
// JSON array; a body with an unusable record is refused whole with what is accepted;
// the list newest first with its filters, one alert by id, the counters.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import { openApiDocument } from '../../src/api/openapi.ts';
import { startWithFlags } from '../support/flowbridge.ts';
import { EVE_ALERT_LINE, eveAlert } from './support.ts';

let fb: Awaited<ReturnType<typeof startWithFlags>>;
beforeAll(async () => {
  fb = await startWithFlags(['-i', 'tcp://127.0.0.1:16911c']);
});
afterAll(async () => {
  await fb?.stop();
});

const post = (body: string, type = 'application/json') => fb.api('/api/v1/alerts', { method: 'POST', headers: { 'content-type': type }, body });
const total = async () => ((await (await fb.api('/api/v1/alerts')).json()) as { total: number }).total;

describe('POST /api/v1/alerts', () => {
  it('takes the Suricata documentation\'s alert as JSON, and serves it by id', async () => {
    const r = await post(EVE_ALERT_LINE);
    expect(r.status).toBe(201);
    const { alerts } = (await r.json()) as { alerts: { id: string; source: string; record: { flow_id: number } }[] };
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ source: 'api', record: { flow_id: 586497171462735, alert: { signature_id: 2018358 } } });
    const one = await fb.api(`/api/v1/alerts/${alerts[0].id}`);
    expect(one.status).toBe(200);
    expect(await one.json()).toMatchObject({ id: alerts[0].id, source: 'api', receivedAt: expect.any(Number), flows: [] });
  });

  it('takes several as NDJSON or a JSON array; lists newest first, filtered by signature, flow_id, community_id, limit', async () => {
    const cid = '1:LQU9qZlK+B5F3KDmev6m5PMibrg=';
    const ndjson = [eveAlert({ flow_id: 11, alert: { signature_id: 7001 } }), eveAlert({ flow_id: 12, alert: { signature_id: 7002 }, community_id: cid })]
      .map((x) => JSON.stringify(x)).join('\n');
    expect((await post(`${ndjson}\n`, 'application/x-ndjson')).status).toBe(201);
    expect((await post(JSON.stringify([eveAlert({ flow_id: 13, alert: { signature_id: 7001 } })]))).status).toBe(201);

    const list = async (q: string) => (await (await fb.api(`/api/v1/alerts?${q}`)).json()) as { total: number; alerts: { record: { flow_id: number } }[]; store: { size: number; max: number; dropped: number } };
    const bySig = await list('signature_id=7001');
    expect(bySig.total).toBe(2);
    expect(bySig.alerts.map((a) => a.record.flow_id)).toEqual([13, 11]);
    expect((await list('flow_id=12')).alerts.map((a) => a.record.flow_id)).toEqual([12]);
    expect((await list(`community_id=${encodeURIComponent(cid)}`)).alerts.map((a) => a.record.flow_id)).toEqual([12]);
    const limited = await list('limit=1');
    expect(limited.alerts.map((a) => a.record.flow_id)).toEqual([13]);
    expect(limited.store).toEqual({ size: limited.total, max: 10_000, dropped: 0 });

    const stats = (await (await fb.api('/api/v1/alerts/stats')).json()) as { bySource: Record<string, number>; bySignature: { signatureId: number; count: number }[] };
    expect(stats.bySource).toMatchObject({ api: 4, 'eve-file': 0, 'eve-socket': 0 });
    expect(stats.bySignature.find((s) => s.signatureId === 7001)?.count).toBe(2);
    const metrics = await (await fb.api('/metrics')).text();
    expect(metrics).toContain('flowbridge_alerts_total{source="api"} 4');
    expect(metrics).toContain('flowbridge_alerts_by_signature_total{signature_id="7001"} 2');
    expect(metrics).toMatch(/^flowbridge_alerts_stored \d+$/m);
  });

  it('refuses a record without a usable 5-tuple, another event type, or a bad line, changing nothing', async () => {
    const before = await total();
    const cases: [string, string, RegExp][] = [
      [JSON.stringify(eveAlert({ src_port: undefined })), 'application/json', /the record is not a usable alert: src_port undefined and dest_port 80 must be port numbers .* for proto TCP; send an EVE record with event_type "alert"/],
      [JSON.stringify(eveAlert({ dest_ip: 'example.org' })), 'application/json', /dest_ip "example.org" must both be IP addresses/],
      [JSON.stringify({ event_type: 'flow', src_ip: '10.0.0.1' }), 'application/json', /has event_type "flow": only alerts are taken/],
      [`${EVE_ALERT_LINE}\n{"event_type": alert}\n`, 'application/x-ndjson', /line 2 is not valid JSON/],
      [`${EVE_ALERT_LINE}\n${JSON.stringify(eveAlert({ proto: 'QUIC' }))}\n`, 'application/x-ndjson', /record 2 is not a usable alert: proto "QUIC"/],
      ['', 'application/json', /the body is empty/],
    ];
    for (const [body, type, message] of cases) {
      const r = await post(body, type);
      expect(r.status, body).toBe(400);
      expect(((await r.json()) as { error: string }).error).toMatch(message);
    }
    expect(await total()).toBe(before);
    const plain = await post(EVE_ALERT_LINE, 'text/plain');
    expect(plain.status).toBe(415);
  });

  it('answers 400 for unknown parameters and 404 for an unknown alert', async () => {
    const bad = await fb.api('/api/v1/alerts?sid=1');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/unknown parameter sid \(accepted: signature_id, flow_id, community_id, status, limit\)/);
    expect((await fb.api('/api/v1/alerts?community_id=xyz')).status).toBe(400);
    const missing = await fb.api('/api/v1/alerts/99999');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: string }).error).toMatch(/no alert "99999"/);
  });
});

describe('OpenAPI', () => {
  it('describes every alerts route the app serves', () => {
    const served = [...new Set(createApp(fb.context).routes
      .filter((r) => r.method !== 'ALL' && r.path.startsWith('/api/v1/alerts'))
      .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`))];
    const doc = openApiDocument('test');
    const described = Object.entries(doc.paths).filter(([p]) => p.startsWith('/api/v1/alerts')).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
    expect(served).toEqual(expect.arrayContaining(['GET /api/v1/alerts', 'GET /api/v1/alerts/stats', 'GET /api/v1/alerts/{id}', 'POST /api/v1/alerts']));
    expect(described.sort()).toEqual(served.sort());
  });
});
