import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCli, USAGE } from '../../src/cli.ts';
import { ConfigError, readConfigFile, resolveConfig } from '../../src/config.ts';

function configFrom(argv: string[], file = {}) {
  return resolveConfig(file, parseCli(argv, {}).flags);
}

describe('command line', () => {
  it('defaults to a ZMQ collector endpoint and loopback capture, API on loopback', () => {
    const c = configFrom([]);
    expect(c.interfaces).toEqual([
      { kind: 'zmq', name: 'tcp://*:5556c', endpoints: 'tcp://*:5556c' },
      { kind: 'packet', name: 'lo', device: 'lo', filter: undefined },
    ]);
    expect(c.http).toEqual({ host: '127.0.0.1', port: 3000 });
    expect(c.dataDir).toMatch(/\/data$/);
  });

  it('classifies -i values as ntopng does and keeps their order', () => {
    const c = configFrom(['-i', 'tcp://*:1234c,ipc:///tmp/x', '-i', 'lo', '--interface', 'pcap:/tmp/t.pcap', '-i', 'zmq://10.0.0.1:5556']);
    expect(c.interfaces.map((i) => i.kind)).toEqual(['zmq', 'packet', 'pcap-file', 'zmq']);
    expect(c.interfaces[0]).toMatchObject({ endpoints: 'tcp://*:1234c,ipc:///tmp/x' });
    expect(c.interfaces[2]).toMatchObject({ file: '/tmp/t.pcap' });
  });

  it('takes mirrored marks, companions and BPF filters', () => {
    const c = configFrom(['-i', 'tcp://*:1234c', '-i', 'eth1', '--mirrored', 'eth1', '--companion', 'tcp://*:1234c=eth1', '--bpf', 'eth1=tcp port 443']);
    expect(c.mirrored).toEqual(['eth1']);
    expect(c.companions).toEqual({ 'tcp://*:1234c': 'eth1' });
    expect(c.interfaces[1]).toMatchObject({ device: 'eth1', filter: 'tcp port 443' });
  });

  it('lets flags override the config file', () => {
    const c = configFrom(['--http', '[::1]:8080', '--grace', '0'], { http: '0.0.0.0:9000', flowTable: { maxFlows: 10, graceSeconds: 5 } });
    expect(c.http).toEqual({ host: '::1', port: 8080 });
    expect(c.flowTable).toMatchObject({ maxFlows: 10, graceSeconds: 0, idleTimeoutSeconds: 180 });
  });

  it('refuses bad flags with what is accepted', () => {
    expect(() => parseCli(['--nope'], {})).toThrow(/Unknown option '--nope'.*--help/);
    expect(() => parseCli(['--max-flows', 'lots'], {})).toThrow(/--max-flows "lots": expected a whole number/);
    expect(() => parseCli(['--companion', 'eth1'], {})).toThrow(/expected <name>=<value>/);
    expect(() => configFrom(['--http', 'localhost'])).toThrow(/not host:port/);
    expect(() => configFrom(['-i', 'udp://x:1'])).toThrow(/tcp:\/\/, ipc:\/\/ or zmq:\/\//);
    expect(() => configFrom(['-i', 'lo', '-i', 'lo'])).toThrow(/given twice/);
    expect(() => configFrom(['-i', 'lo', '--bpf', 'eth9=tcp'])).toThrow(/not a packet interface/);
    expect(() => configFrom(['--protect-reads'])).toThrow(/needs an apiToken/);
  });

  it('reads the API token from the environment', () => {
    expect(resolveConfig({}, parseCli([], { FLOWBRIDGE_API_TOKEN: 'secret-token' }).flags).apiToken).toBe('secret-token');
  });

  it('documents every option in --help', () => {
    for (const flag of ['--interface', '--bpf', '--mirrored', '--companion', '--curve', '--http', '--api-token', '--protect-reads', '--data-dir', '--config', '--max-flows', '--idle-timeout', '--grace', '--queue-bound', '--top-processes']) {
      expect(USAGE).toContain(flag);
    }
  });
});

describe('config file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fb-config-'));
  const write = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('accepts a valid file', () => {
    const f = readConfigFile(write('ok.json', JSON.stringify({ interfaces: ['tcp://*:5556c', 'eth0'], mirrored: ['eth0'], companions: { 'tcp://*:5556c': 'eth0' }, flowTable: { maxFlows: 5000 } })));
    expect(resolveConfig(f, {}).flowTable.maxFlows).toBe(5000);
  });

  it('says which key is wrong and which keys are accepted', () => {
    expect(() => readConfigFile(write('typo.json', '{"interface": ["lo"]}'))).toThrow(/must NOT have additional properties 'interface'.*accepted keys: interfaces/);
    expect(() => readConfigFile(write('type.json', '{"flowTable": {"maxFlows": "many"}}'))).toThrow(/\/flowTable\/maxFlows must be integer/);
    expect(() => readConfigFile(write('bad.json', '{"interfaces": ['))).toThrow(/not valid JSON/);
    expect(() => readConfigFile(join(dir, 'missing.json'))).toThrow(ConfigError);
  });
});
