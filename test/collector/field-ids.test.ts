// JSON keys as NetFlow/IPFIX field ids ("8") or "PEN.id" ("35632.168"): the IANA ids
// built in, producer ids learned from `template` messages; directly and through the
// ingest pipeline as a producer uses them.
import { describe, expect, it } from 'vitest';
import { FieldIds, MAX_LEARNED_FIELDS } from '../../src/collector/events/field-ids.ts';
import { Ingest } from '../../src/collector/ingest.ts';
import type { CollectedEvent, SocketEvent } from '../../src/model/event.ts';
import { message } from '../support/producer.ts';

describe('FieldIds', () => {
  it('resolves the IANA ids of the fields events use', () => {
    const ids = new FieldIds();
    expect(ids.resolve({ '4': 6, '7': 1000, '8': '10.0.0.1', '11': 80, '12': '10.0.0.2', '27': 'fd00::1', '28': 'fd00::2', '60': 4, '82': 'eth0', '130': '192.168.1.1' })).toEqual({
      PROTOCOL: 6, L4_SRC_PORT: 1000, IPV4_SRC_ADDR: '10.0.0.1', L4_DST_PORT: 80, IPV4_DST_ADDR: '10.0.0.2', IPV6_SRC_ADDR: 'fd00::1',
      IPV6_DST_ADDR: 'fd00::2', IP_PROTOCOL_VERSION: 4, INTERFACE_NAME: 'eth0', EXPORTER_IPV4_ADDRESS: '192.168.1.1',
    });
  });

  it('keeps unknown ids and named keys as they are, and leaves a record without numeric keys untouched', () => {
    const ids = new FieldIds();
    expect(ids.resolve({ '99999': 1, '35632.1': 'x', PROTOCOL: 6, '8': '1.2.3.4' })).toEqual({ '99999': 1, '35632.1': 'x', PROTOCOL: 6, IPV4_SRC_ADDR: '1.2.3.4' });
    const named = { PROTOCOL: 6, IPV4_SRC_ADDR: '1.2.3.4' };
    expect(ids.resolve(named)).toBe(named);
  });

  it('learns the template shapes producers use', () => {
    const ids = new FieldIds();
    expect(ids.learn({ field: 57590, name: 'LOCAL_PROCESS' })).toBe(1);
    expect(ids.learn({ id: 57591, name: 'REMOTE_PROCESS' })).toBe(1);
    expect(ids.learn({ PEN: 35632, field: 168, name: 'LOCAL_FATHER_PROCESS' })).toBe(1);
    expect(ids.learn({ pen: 35632, field: '169', name: 'REMOTE_FATHER_PROCESS' })).toBe(1);
    expect(ids.learn({ PEN: 0, field: 57592, name: 'TID' })).toBe(1); // PEN 0 is IANA
    expect(ids.learn({ PEN: 35632, field: '35632.170', name: 'LOCAL_CONTAINER' })).toBe(1); // already qualified
    expect(ids.learn({ '57593': 'NW_LATENCY_MS', '35632.171': 'REMOTE_CONTAINER', NOT_AN_ID: 'X' })).toBe(2);
    expect(ids.size).toBe(8);
    expect(ids.resolve({ '57590': 1, '57591': 2, '35632.168': 3, '35632.169': 4, '57592': 5, '35632.170': 6, '57593': 7, '35632.171': 8, '168': 9 })).toEqual({
      LOCAL_PROCESS: 1, REMOTE_PROCESS: 2, LOCAL_FATHER_PROCESS: 3, REMOTE_FATHER_PROCESS: 4, TID: 5, LOCAL_CONTAINER: 6, NW_LATENCY_MS: 7, REMOTE_CONTAINER: 8, '168': 9,
    });
  });

  it('ignores names that are not field names', () => {
    const ids = new FieldIds();
    for (const name of [5, null, '', 'has space', '1ABC', 'a.b', 'x'.concat('-y'), { a: 1 }]) {
      expect(ids.learn({ field: 60000, name }), JSON.stringify(name)).toBe(0);
    }
    expect(ids.size).toBe(0);
    expect(ids.resolve({ '60000': 1 })).toEqual({ '60000': 1 });
  });

  it('a learned name wins over the built-in one, and a later template over an earlier one', () => {
    const ids = new FieldIds();
    ids.learn({ field: 8, name: 'MY_SRC' });
    ids.learn({ field: 57590, name: 'LOCAL_PROCESS' });
    ids.learn({ field: 57590, name: 'REMOTE_PROCESS' });
    expect(ids.resolve({ '8': 'a', '57590': 'b' })).toEqual({ MY_SRC: 'a', REMOTE_PROCESS: 'b' });
    expect(ids.size).toBe(2);
  });

  it(`is bounded at ${MAX_LEARNED_FIELDS} learned ids, counting what it refused, and still updates known ids`, () => {
    const ids = new FieldIds();
    for (let i = 0; i < MAX_LEARNED_FIELDS; i++) ids.learn({ field: 100000 + i, name: `F${i}` });
    expect(ids.size).toBe(MAX_LEARNED_FIELDS);
    expect(ids.learn({ field: 1, name: 'ONE_TOO_MANY' })).toBe(0);
    expect(ids.learn({ '2': 'TWO', '3': 'THREE' })).toBe(0);
    expect(ids.dropped).toBe(3);
    expect(ids.learn({ field: 100000, name: 'RENAMED' })).toBe(1);
    expect(ids.resolve({ '100000': 1, '1': 2 })).toEqual({ RENAMED: 1, '1': 2 });
  });
});

describe('field ids through the ingest pipeline', () => {
  const send = (ingest: Ingest, topic: string, records: object) => {
    const out: CollectedEvent[] = [];
    ingest.message(message(topic, records, { layout: 2, sourceId: 1, msgId: 1 }), 'ipc:///x', undefined, out);
    return out as SocketEvent[];
  };
  const numericFlow = { '4': 6, '8': '10.0.0.1', '12': '10.0.0.2', '7': 40000, '11': 443, '60': 4, '82': 'eth0', TCP_EVENT_TYPE: 'CONNECT' };

  it('events with IANA ids need no template; PEN ids are learned from template messages, in both shapes', () => {
    const ingest = new Ingest(0);
    expect(send(ingest, 'flow', numericFlow)).toEqual([{
      kind: 'flow', timestamp: expect.any(Number), ifName: 'eth0', ipVersion: 4, protocol: 6, eventType: 'CONNECT',
      client: { ip: '10.0.0.1', port: 40000 }, server: { ip: '10.0.0.2', port: 443 }, localSide: 'client', local: {}, remote: {},
    }]);
    // Before the template, an unknown id is kept as an additional field.
    expect(send(ingest, 'flow', { ...numericFlow, '35632.168': { PID: 9 } })[0].extra).toEqual({ '35632.168': { PID: 9 } });
    expect(send(ingest, 'template', [{ PEN: 35632, field: 168, name: 'LOCAL_PROCESS' }, { '35632.169': 'LOCAL_FATHER_PROCESS' }])).toEqual([]);
    const [e] = send(ingest, 'flow', { ...numericFlow, '35632.168': { PID: 9, PROCESS_PATH: '/bin/nc' }, '35632.169': { PID: 1 } });
    expect(e.local).toEqual({ process: { pid: 9, path: '/bin/nc' }, parent: { pid: 1 } });
    expect(e.extra).toBeUndefined();
    const stats = ingest.stats();
    expect(stats.messages).toEqual({ flow: 3, template: 1 });
    expect(stats.bounds.learnedFieldIds).toEqual({ size: 2, max: MAX_LEARNED_FIELDS, dropped: 0 });
  });

  it('a producer that re-sends its template with another name for an id is followed, in either template shape', () => {
    for (const [first, second] of [
      [{ field: 57590, name: 'LOCAL_PROCESS' }, { field: 57590, name: 'REMOTE_PROCESS' }],
      [{ '57590': 'LOCAL_PROCESS' }, { '57590': 'REMOTE_PROCESS' }],
    ]) {
      const ingest = new Ingest(0);
      send(ingest, 'template', first);
      send(ingest, 'template', second);
      const [e] = send(ingest, 'flow', { ...numericFlow, '57590': { PID: 9 } });
      expect(e, `templates ${JSON.stringify(first)} then ${JSON.stringify(second)}`).toMatchObject({ local: {}, remote: { process: { pid: 9 } } });
    }
  });
});
