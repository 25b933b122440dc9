// Reading Suricata EVE records: the documentation's alert (fixture), the protocols
// Suricata names, other event types, and what is refused and why.
import { describe, expect, it } from 'vitest';
import { parseEveLine } from '../../src/alerts/eve.ts';
import { LineSplitter } from '../../src/alerts/line-splitter.ts';
import { communityId } from '../../src/model/community-id.ts';
import { EVE_ALERT_LINE, eveAlert } from './support.ts';

describe('EVE records', () => {
  it('reads the Suricata documentation\'s alert: signature, flow_id exact, the flow it names', () => {
    const p = parseEveLine(EVE_ALERT_LINE);
    expect(p.kind).toBe('alert');
    if (p.kind !== 'alert') return;
    expect(p.record.flow_id).toBe(586497171462735);
    expect(p.record.alert).toMatchObject({ signature_id: 2018358, gid: 1, rev: 10, severity: 2 });
    expect(p.flow).toEqual({ protocol: 6, src: { ip: '192.168.2.14', port: 50096 }, dest: { ip: '209.53.113.5', port: 80 }, tuple: '6|192.168.2.14|50096|209.53.113.5|80' });
  });

  it('names the same flow for both directions, and keeps a community_id', () => {
    const cid = communityId(17, '10.0.0.2', 53, '10.0.0.1', 40000);
    const a = parseEveLine(JSON.stringify(eveAlert({ proto: 'UDP', src_ip: '10.0.0.1', src_port: 40000, dest_ip: '10.0.0.2', dest_port: 53 })));
    const b = parseEveLine(JSON.stringify(eveAlert({ proto: 'UDP', src_ip: '10.0.0.2', src_port: 53, dest_ip: '10.0.0.1', dest_port: 40000, community_id: cid })));
    if (a.kind !== 'alert' || b.kind !== 'alert') throw new Error('not alerts');
    expect(a.flow.tuple).toBe(b.flow.tuple);
    expect(b.flow.communityId).toBe(cid);
  });

  it('takes ICMP without ports, IPv6 in any spelling, and protocol numbers', () => {
    const icmp = parseEveLine(JSON.stringify(eveAlert({ proto: 'ICMP', src_port: undefined, dest_port: undefined, icmp_type: 8, icmp_code: 0 })));
    expect(icmp.kind === 'alert' && icmp.flow).toMatchObject({ protocol: 1, icmp: { type: 8, code: 0 }, tuple: '1|192.168.2.14|0|209.53.113.5|0' });
    const v6 = parseEveLine(JSON.stringify(eveAlert({ proto: 'IPv6-ICMP', src_ip: 'FD00:0:0:0:0:0:0:1', dest_ip: 'fd00::2' })));
    expect(v6.kind === 'alert' && v6.flow.src.ip).toBe('fd00::1');
    const gre = parseEveLine(JSON.stringify(eveAlert({ proto: '047' })));
    expect(gre.kind === 'alert' && gre.flow.protocol).toBe(47);
  });

  it('skips other event types by name, and refuses what is not a usable alert, saying why', () => {
    expect(parseEveLine('{"event_type":"flow","src_ip":"1.2.3.4"}')).toEqual({ kind: 'skipped', eventType: 'flow' });
    const reason = (line: string) => {
      const p = parseEveLine(line);
      return p.kind === 'rejected' ? p.reason : p.kind;
    };
    expect(reason('{"event_type":"alert",')).toBe('bad-json');
    expect(reason('[1,2]')).toBe('not-an-object');
    expect(reason('{"alert":{}}')).toBe('no-event-type');
    expect(reason(JSON.stringify({ ...eveAlert(), alert: undefined }))).toBe('no-alert-object');
    expect(reason(JSON.stringify(eveAlert({ src_ip: 'host.example' })))).toBe('no-5-tuple');
    expect(reason(JSON.stringify(eveAlert({ dest_port: 70000 })))).toBe('no-5-tuple');
    expect(reason(JSON.stringify(eveAlert({ proto: 'QUIC' })))).toBe('no-5-tuple');
    expect(reason(JSON.stringify(eveAlert({ community_id: '1:abc' })))).toBe('bad-community-id');
  });

  it('splits lines across chunks, drops CR, and cuts a line past the bound without losing the next', () => {
    const got: string[] = [];
    const cut: string[] = [];
    const s = new LineSplitter({ line: (t) => got.push(t), tooLong: (e) => cut.push(e.toString()) }, 16);
    s.push(Buffer.from('{"a":1}\r\n{"b"'));
    s.push(Buffer.from(':2}\n'));
    s.push(Buffer.from('x'.repeat(10)));
    s.push(Buffer.from('y'.repeat(10)));
    s.push(Buffer.from('zzz\n{"c":3}\n'));
    expect(got).toEqual(['{"a":1}', '{"b":2}', '{"c":3}']);
    expect(cut).toHaveLength(1);
    expect(cut[0]).toMatch(/^x{10}y/);
  });
});
