// ntopng's endpoint syntax: tcp://host:port, ipc://path, zmq:// as tcp://, a trailing
// c to bind, several separated by commas; anything else refused with what is accepted.
import { describe, expect, it } from 'vitest';
import { parseEndpoints } from '../../src/collector/endpoint.ts';

describe('parseEndpoints: accepted forms', () => {
  it.each([
    ['tcp://*:5556c', 'tcp://*:5556', 'bind'],
    ['tcp://127.0.0.1:5556c', 'tcp://127.0.0.1:5556', 'bind'],
    ['tcp://127.0.0.1:5556', 'tcp://127.0.0.1:5556', 'connect'],
    ['tcp://collector.example.com:1', 'tcp://collector.example.com:1', 'connect'],
    ['tcp://my_host-2:65535', 'tcp://my_host-2:65535', 'connect'],
    ['tcp://eth0:5556c', 'tcp://eth0:5556', 'bind'],
    ['tcp://[::1]:5556c', 'tcp://[::1]:5556', 'bind'],
    ['tcp://[fd00:10:244::7]:5556', 'tcp://[fd00:10:244::7]:5556', 'connect'],
    ['zmq://*:5556c', 'tcp://*:5556', 'bind'],
    ['zmq://10.0.0.1:5556', 'tcp://10.0.0.1:5556', 'connect'],
    ['ipc:///run/flowbridge/flows.sockc', 'ipc:///run/flowbridge/flows.sock', 'bind'],
    ['ipc:///run/flowbridge/flows.sock', 'ipc:///run/flowbridge/flows.sock', 'connect'],
    ['ipc://relative.sock', 'ipc://relative.sock', 'connect'],
  ] as const)('%s → %s (%s)', (spec, address, mode) => {
    expect(parseEndpoints(spec)).toEqual([{ spec, address, mode }]);
  });

  it('reads a comma-separated list, trimming blanks and ignoring empty entries', () => {
    expect(parseEndpoints(' tcp://*:5556c ,ipc:///tmp/a.sock,, zmq://[::1]:5558 ,')).toEqual([
      { spec: 'tcp://*:5556c', address: 'tcp://*:5556', mode: 'bind' },
      { spec: 'ipc:///tmp/a.sock', address: 'ipc:///tmp/a.sock', mode: 'connect' },
      { spec: 'zmq://[::1]:5558', address: 'tcp://[::1]:5558', mode: 'connect' },
    ]);
  });
});

describe('parseEndpoints: clear errors', () => {
  const ACCEPTED = /accepted: tcp:\/\/host:port, tcp:\/\/\*:port, ipc:\/\/path, zmq:\/\/host:port; a trailing c binds/;

  it.each([
    'udp://10.0.0.1:5556',
    'tcp://10.0.0.1',
    'tcp://10.0.0.1:',
    'tcp://:5556',
    'tcp://10.0.0.1:123456',
    'tcp://10.0.0.1:port',
    'tcp://a b:1',
    '10.0.0.1:5556',
    'ipc://',
    'ipc://c',
    'http://example.com:80',
    'tcp://[zz::1]:1',
  ])('%s is not valid, and the error says what is', (spec) => {
    expect(() => parseEndpoints(spec)).toThrow(ACCEPTED);
    expect(() => parseEndpoints(spec)).toThrow(spec.trim());
  });

  it('names the bad entry of a list', () => {
    expect(() => parseEndpoints('tcp://*:5556c,udp://x:1,ipc:///a')).toThrow(/"udp:\/\/x:1" is not valid/);
  });

  it('ports out of range', () => {
    expect(() => parseEndpoints('tcp://h:0c')).toThrow(/port 0 out of range 1-65535/);
    expect(() => parseEndpoints('tcp://h:65536')).toThrow(/port 65536 out of range 1-65535/);
    expect(() => parseEndpoints('tcp://h:99999c')).toThrow(/port 99999 out of range/);
  });

  it("'*' without the c suffix: it cannot be connected to, and the error shows the fix", () => {
    expect(() => parseEndpoints('tcp://*:5556')).toThrow("'*' only makes sense when binding; add a trailing c (tcp://*:5556c)");
    expect(() => parseEndpoints('zmq://*:5556')).toThrow(/only makes sense when binding/);
  });

  it('an empty list', () => {
    for (const list of ['', ' ', ',', ' , ,']) expect(() => parseEndpoints(list)).toThrow(/no ZMQ endpoint in/);
  });
});
