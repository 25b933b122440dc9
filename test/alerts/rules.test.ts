// flowbridge's own alert rules: what they accept, what they match on the merged
// events, counting within a window, and on real failed connections on lo (their
// CONNECT_FAILED events sent over ZMQ) an alert joined to the flow of the fifth, whose
// packets the conditional store keeps.
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normaliseSocketEvent } from '../../src/collector/events/normalise.ts';
import { alertRule, AlertRules, ruleMatches, type AlertRule } from '../../src/alerts/rules.ts';
import { fixture } from '../support/fixtures.ts';
import { connectProducer, startWithFlags } from '../support/flowbridge.ts';
import { describeAsRoot } from '../support/privileges.ts';
import type { Producer } from '../support/producer.ts';
import { waitFor } from '../support/wait.ts';
import { tsharkRead } from '../recording/support.ts';

const failed = normaliseSocketEvent(fixture('ebpflowexport-connect-failed')); // python3.11 (uid 1000) 10.0.0.5:40100 -> 10.0.0.99:8080
const docker = normaliseSocketEvent(fixture('ebpflowexport-connect-docker')); // curl in sleepy_haibt -> 93.184.216.34:443
const rule = (match: AlertRule['match'], extra: object = {}) => alertRule({ signatureId: 9_000_001, signature: 'test', match, ...extra });

describe('rules', () => {
  it('refuse what they cannot match, saying what is accepted', () => {
    const bad: [object, RegExp][] = [
      [{ signature: 'x', match: { process: 'curl' } }, /signatureId undefined: a whole number of at least 1/],
      [{ signatureId: 1, match: { process: 'curl' } }, /rule 1: signature .* is required/],
      [{ signatureId: 1, signature: 'x', match: {} }, /match names nothing: give any of process, user, container/],
      [{ signatureId: 1, signature: 'x', match: { colour: 'red' } }, /unknown match field colour/],
      [{ signatureId: 1, signature: 'x', match: { eventType: 'EXPLODE' } }, /eventType "EXPLODE" is not one of ACCEPT, CONNECT, CONNECT_FAILED/],
      [{ signatureId: 1, signature: 'x', match: { server: '10.0.0.0/33' } }, /is not an address or a CIDR net/],
      [{ signatureId: 1, signature: 'x', severity: 4, match: { user: 'bob' } }, /severity 4: 1, 2 or 3/],
      [{ signatureId: 1, signature: 'x', count: 0, match: { user: 'bob' } }, /count: a whole number from 1 to 100000/],
    ];
    for (const [input, message] of bad) expect(() => alertRule(input), JSON.stringify(input)).toThrow(message);
  });

  it('match the process, user, parent, container, server and event type the merged event carries', () => {
    expect(ruleMatches(rule({ process: 'python3.11' }), failed)).toBe(true);
    expect(ruleMatches(rule({ process: '/usr/bin/python3.11' }), failed)).toBe(true);
    expect(ruleMatches(rule({ process: '5120' }), failed)).toBe(true);
    expect(ruleMatches(rule({ process: 'curl' }), failed)).toBe(false);
    expect(ruleMatches(rule({ user: '1000', parent: 'bash', eventType: 'CONNECT_FAILED' }), failed)).toBe(true);
    expect(ruleMatches(rule({ eventType: 'CONNECT' }), failed)).toBe(false);
    expect(ruleMatches(rule({ server: '10.0.0.0/24', serverPort: 8080 }), failed)).toBe(true);
    expect(ruleMatches(rule({ server: '10.0.1.0/24' }), failed)).toBe(false);
    expect(ruleMatches(rule({ container: 'sleepy_haibt' }), docker)).toBe(true);
    expect(ruleMatches(rule({ container: 'cbd2540ec5be' }), docker)).toBe(true);
    expect(ruleMatches(rule({ container: 'sleepy_haibt' }), failed)).toBe(false);
  });

  it('fire once a process did it `count` times within the window, then count again', () => {
    const fired: unknown[] = [];
    const rules = new AlertRules([rule({ eventType: 'CONNECT_FAILED' }, { count: 5, windowSeconds: 10 })], (a) => fired.push(a));
    const t0 = 1_000_000;
    for (let i = 0; i < 4; i++) rules.evaluate([failed], t0 + i * 1000);
    expect(fired).toHaveLength(0);
    rules.evaluate([failed], t0 + 20_000); // the first four are out of the window now
    expect(fired).toHaveLength(0);
    for (let i = 1; i <= 4; i++) rules.evaluate([failed], t0 + 20_000 + i * 100);
    expect(fired).toHaveLength(1);
    expect(fired[0]).toMatchObject({
      record: { event_type: 'alert', src_ip: '10.0.0.5', src_port: 40100, dest_ip: '10.0.0.99', dest_port: 8080, proto: 'TCP', alert: { signature_id: 9_000_001, signature: 'test', category: 'flowbridge rule' } },
      flow: { protocol: 6, tuple: '6|10.0.0.5|40100|10.0.0.99|8080' },
    });
    rules.evaluate([failed], t0 + 21_000);
    expect(fired).toHaveLength(1);
  });
});

describeAsRoot('a rule on real failed connections', 'capture on lo', () => {
  const ZMQ_PORT = 16990;
  const CLOSED_PORT = 16991;
  let fb: Awaited<ReturnType<typeof startWithFlags>>;
  let producer: Producer;
  beforeAll(async () => {
    fb = await startWithFlags(['-i', `tcp://127.0.0.1:${ZMQ_PORT}c`, '-i', 'lo', '--bpf', `lo=tcp port ${CLOSED_PORT}`, '--conditional-pcap', 'lo=4MB']);
    producer = await connectProducer(fb, `tcp://127.0.0.1:${ZMQ_PORT}`);
  });
  afterAll(async () => {
    producer?.close();
    await fb?.stop();
  });

  it('raises an alert on the fifth failed connect of one process in 10 s, joined to that flow', async () => {
    const put = await fb.api('/api/v1/rules', {
      method: 'PUT', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rules: [{ signatureId: 9_000_002, signature: 'five failed connects in 10 s', severity: 1, match: { process: 'curl', eventType: 'CONNECT_FAILED' }, count: 5, windowSeconds: 10 }] }),
    });
    expect(put.status).toBe(200);
    const refused = await fb.api('/api/v1/rules', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rules: [{ signatureId: 1, match: {} }] }) });
    expect(refused.status).toBe(400);
    expect(((await (await fb.api('/api/v1/rules')).json()) as { rules: AlertRule[] }).rules.map((r) => r.signatureId)).toEqual([9_000_002]);
    expect(JSON.parse(readFileSync(join(fb.dataDir, 'alert-rules.json'), 'utf8'))).toMatchObject([{ signatureId: 9_000_002 }]);

    // Five real connections to a closed port, each refused (SYN, RST), and the agent's CONNECT_FAILED for each.
    const ports: number[] = [];
    for (let i = 0; i < 5; i++) {
      const port = await new Promise<number>((resolve) => {
        const c = connect(CLOSED_PORT, '127.0.0.1');
        c.on('connect', () => resolve(-1));
        c.on('error', () => resolve((c as unknown as { _sockname?: { port: number } })._sockname?.port ?? c.localPort ?? 0));
      });
      ports.push(port);
    }
    // The client ports of refused connections, as the capture saw them.
    const flows = await waitFor(async () => {
      const r = (await (await fb.api(`/api/v1/interfaces/lo/flows?port=${CLOSED_PORT}`)).json()) as { total: number; flows: { client: { port: number } }[] };
      return r.total >= 5 ? r.flows : undefined;
    }, 'the five refused connections captured');
    const clientPorts = flows.map((f) => f.client.port).sort((a, b) => a - b);
    for (const port of clientPorts) {
      await producer.send('flow', {
        ...fixture('ebpflowexport-connect-failed'), INTERFACE_NAME: 'lo', IPV4_SRC_ADDR: '127.0.0.1', IPV4_DST_ADDR: '127.0.0.1', L4_SRC_PORT: port, L4_DST_PORT: CLOSED_PORT,
        LOCAL_PROCESS: { PID: 7777, UID: 1000, UID_NAME: 'mallory', TID: 7777, PROCESS_PATH: '/usr/bin/curl', PROCESS_CMDLINE: 'curl http://127.0.0.1' },
      });
    }
    const [alert] = await waitFor(async () => {
      const r = (await (await fb.api('/api/v1/alerts?signature_id=9000002')).json()) as { alerts: { source: string; status: string; record: { src_port: number; alert: { signature: string } }; flows: { interface: string; key: string; process?: { path?: string } }[] }[] };
      return r.alerts.length && r.alerts[0].status === 'matched' ? r.alerts : undefined;
    }, 'the rule\'s alert, joined');
    expect(alert).toMatchObject({ source: 'rule', record: { src_port: clientPorts[4], alert: { signature: 'five failed connects in 10 s' } } });
    expect(alert.flows).toEqual([expect.objectContaining({ interface: 'lo', key: `6|127.0.0.1|${CLOSED_PORT}|127.0.0.1|${clientPorts[4]}`, process: expect.objectContaining({ path: '/usr/bin/curl' }) })]);
    expect(((await (await fb.api('/api/v1/alerts?signature_id=9000002')).json()) as { alerts: unknown[] }).alerts).toHaveLength(1);

    // Its flow's packets were kept, those that came before the alert too: the SYN and the RST that refused it.
    const id = ((await (await fb.api('/api/v1/alerts?signature_id=9000002')).json()) as { alerts: { id: string }[] }).alerts[0].id;
    const pcap = await waitFor(async () => {
      const r = await fb.api(`/api/v1/alerts/${id}/pcap`);
      if (r.status !== 200) return undefined;
      const file = join(fb.dataDir, 'rule-alert.pcap');
      writeFileSync(file, Buffer.from(await r.arrayBuffer()));
      const packets = tsharkRead(file);
      return packets.length >= 2 ? packets : undefined;
    }, 'the alerted flow\'s packets');
    expect(pcap.map((p) => [p.srcPort, p.dstPort])).toEqual([[clientPorts[4], CLOSED_PORT], [CLOSED_PORT, clientPorts[4]]]);
    expect(ports).toHaveLength(5);
  });
});
