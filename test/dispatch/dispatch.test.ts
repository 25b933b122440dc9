// Dispatch rules 1-8 of reference/dispatch.md, on real interfaces, flow tables and
// settings (the packet interfaces are not capturing: dispatch alone is under test).
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { normaliseCounters, normaliseSocketEvent } from '../../src/collector/events/normalise.ts';
import { CompanionSettings, SettingsError } from '../../src/dispatch/companions.ts';
import { Dispatcher } from '../../src/dispatch/dispatcher.ts';
import { SettingsStore } from '../../src/dispatch/settings-store.ts';
import { PacketInterface } from '../../src/interfaces/packet-interface.ts';
import { InterfaceRegistry } from '../../src/interfaces/registry.ts';
import { ZmqInterface } from '../../src/interfaces/zmq-interface.ts';
import type { SocketEvent } from '../../src/model/event.ts';
import { fixture } from '../support/fixtures.ts';

/** The collector of `ntopng -i tcp://*:1234c -i lo -i ens3 -i cbr0` (+ a second ZMQ interface). */
function setup(options: { queueBound?: number; drainBatch?: number; dataDir?: string } = {}) {
  const registry = new InterfaceRegistry();
  const noop = () => {};
  const flowTable = { maxFlows: 1000 };
  const zmq = new ZmqInterface({ id: 0, name: 'tcp://*:1234c', endpoints: 'tcp://*:1234c', flowTable }, noop);
  const zmq2 = new ZmqInterface({ id: 4, name: 'tcp://*:1235c', endpoints: 'tcp://*:1235c', flowTable }, noop);
  const lo = new PacketInterface({ id: 1, name: 'lo', device: 'lo', flowTable });
  const ens3 = new PacketInterface({ id: 2, name: 'ens3', device: 'ens3', flowTable });
  const cbr0 = new PacketInterface({ id: 3, name: 'cbr0', device: 'cbr0', flowTable });
  for (const i of [zmq, lo, ens3, cbr0, zmq2]) registry.add(i);
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'fb-dispatch-'));
  const store = new SettingsStore(dataDir);
  const companions = new CompanionSettings(registry, store);
  companions.init(store.load().settings, { mirrored: [], companions: {} });
  const dispatcher = new Dispatcher(registry, companions, { queueBound: options.queueBound, drainBatch: options.drainBatch });
  const send = (events: SocketEvent[], from = zmq) => {
    dispatcher.dispatch(from, events);
    dispatcher.flush();
  };
  return { registry, zmq, zmq2, lo, ens3, cbr0, companions, dispatcher, dataDir, send };
}

const event = (name: string, patch: Record<string, unknown> = {}) => normaliseSocketEvent({ ...fixture(name), ...patch });
const delivered = (d: Dispatcher, id: number) => d.stats().find((s) => s.interfaceId === id);

describe('rule 1: home', () => {
  it('accounts every flow and netstat event in the ZMQ interface that received it', () => {
    const { zmq, send } = setup();
    send([event('ebpflowexport-connect-docker'), event('netstat-established')]);
    const flows = zmq.flows.query({}).flows;
    expect(flows).toHaveLength(2);
    const curl = flows.find((f) => f.process?.path === '/usr/bin/curl')!;
    expect(curl).toMatchObject({ client: { ip: '172.17.0.2', port: 54348 }, server: { ip: '93.184.216.34', port: 443 }, lastEvent: 'CONNECT', latencyMs: 0.221, seenBy: ['events'] });
    expect(curl.container).toMatchObject({ runtime: 'docker', name: 'sleepy_haibt' });
  });
});

describe('rule 2: by name', () => {
  it('delivers to the packet interface named by IF_NAME (the seed example) and nowhere else', () => {
    const { zmq, cbr0, ens3, lo, dispatcher, send } = setup();
    send([event('nprobe-mini-connect')]);
    expect(cbr0.flows.query({}).flows[0]).toMatchObject({ client: { ip: '10.1.1.1', port: 58916 }, server: { ip: '10.1.1.13', port: 10054 }, process: { pid: 29730, path: '/snap/microk8s/522/kubelet' } });
    expect(zmq.flows.stats().active).toBe(1);
    expect(ens3.flows.stats().active).toBe(0);
    expect(lo.flows.stats().active).toBe(0);
    expect(delivered(dispatcher, cbr0.id)?.delivered).toMatchObject({ name: 1, companion: 0 });
  });

  it('understands INTERFACE_NAME too', () => {
    const { ens3, send } = setup();
    send([event('ebpflowexport-accept')]);
    expect(ens3.flows.query({}).flows[0]).toMatchObject({ client: { ip: '192.168.1.50' }, server: { ip: '192.168.1.10', port: 22 }, process: { path: '/usr/sbin/sshd' }, processSide: 'server' });
  });

  it('delivers loopback events by name only to a loopback interface', () => {
    const { lo, ens3, send } = setup();
    const loopback = { IPV4_SRC_ADDR: '127.0.0.1', IPV4_DST_ADDR: '127.0.0.53' };
    send([event('ebpflowexport-connect-docker', { ...loopback, INTERFACE_NAME: 'ens3' })]);
    expect(ens3.flows.stats().active).toBe(0);
    send([event('ebpflowexport-connect-docker', { ...loopback, INTERFACE_NAME: 'lo' })]);
    expect(lo.flows.stats().active).toBe(1);
  });
});

describe('rule 3: companion', () => {
  it('only a mirrored packet interface can be chosen, with a clear refusal otherwise', () => {
    const { zmq, lo, companions } = setup();
    expect(() => companions.change(zmq.id, { companion: 'ens3' })).toThrow(/ens3 is not marked mirrored, so it cannot be a companion; mirrored interfaces: none/);
    expect(() => companions.change(zmq.id, { companion: 'nope' })).toThrow(SettingsError);
    expect(() => companions.change(lo.id, { companion: 'ens3' })).toThrow(/only a ZMQ interface has a companion/);
    expect(() => companions.change(zmq.id, { mirrored: true })).toThrow(/only packet interfaces can be marked mirrored/);
    expect(companions.companionOf(zmq)).toBeNull();
  });

  it('delivers every non-loopback event of the ZMQ interface to its companion, loopback never', () => {
    const { zmq, ens3, companions, dispatcher, send } = setup();
    companions.change('ens3', { mirrored: true });
    companions.change(zmq.id, { companion: 'ens3' });
    send([event('ebpflowexport-connect-docker'), event('ebpflowexport-udp-send-ipv6-k8s')]); // eth0, cni0: not monitored
    expect(ens3.flows.stats().active).toBe(2);
    const loopbacks = [
      { IPV4_SRC_ADDR: '127.0.0.1' },
      { IPV4_DST_ADDR: '127.8.9.10' },
      { IP_PROTOCOL_VERSION: 6, IPV4_SRC_ADDR: undefined, IPV4_DST_ADDR: undefined, IPV6_SRC_ADDR: '::1', IPV6_DST_ADDR: 'fd00::5' },
      { IP_PROTOCOL_VERSION: 6, IPV4_SRC_ADDR: undefined, IPV4_DST_ADDR: undefined, IPV6_SRC_ADDR: '::ffff:127.0.0.1', IPV6_DST_ADDR: '::ffff:10.0.0.1' },
    ];
    send(loopbacks.map((p, i) => event('ebpflowexport-connect-docker', { ...p, L4_SRC_PORT: 40000 + i })));
    expect(ens3.flows.stats().active).toBe(2);
    expect(zmq.flows.stats().active).toBe(6);
    expect(delivered(dispatcher, ens3.id)?.delivered.companion).toBe(2);
  });

  it('stops delivering when the companion is no longer mirrored, and says so', () => {
    const { zmq, ens3, companions, send } = setup();
    companions.change('ens3', { mirrored: true });
    companions.change(zmq.id, { companion: 'ens3' });
    const { notes } = companions.change('ens3', { mirrored: false });
    expect(notes.join()).toMatch(/ens3 is no longer mirrored, so it stops receiving the events of tcp:\/\/\*:1234c/);
    expect(companions.problems()).toEqual([{ interfaceId: zmq.id, text: expect.stringMatching(/companion ens3 of tcp:\/\/\*:1234c is not marked mirrored/) }]);
    send([event('ebpflowexport-connect-docker')]);
    expect(ens3.flows.stats().active).toBe(0);
    companions.change('ens3', { mirrored: true });
    send([event('ebpflowexport-connect-failed')]);
    expect(ens3.flows.stats().active).toBe(1);
  });

  it('lets several ZMQ interfaces share one companion', () => {
    const { zmq, zmq2, ens3, companions, send } = setup();
    companions.change('ens3', { mirrored: true });
    companions.change(zmq.id, { companion: 'ens3' });
    companions.change(zmq2.id, { companion: 'ens3' });
    send([event('ebpflowexport-connect-docker')], zmq);
    send([event('ebpflowexport-retransmit')], zmq2);
    expect(ens3.flows.stats().active).toBe(2);
  });
});

describe('rule 4: once', () => {
  it('delivers once to an interface that qualifies by name and as companion', () => {
    const { zmq, ens3, companions, dispatcher, send } = setup();
    companions.change('ens3', { mirrored: true });
    companions.change(zmq.id, { companion: 'ens3' });
    send([event('ebpflowexport-accept')]); // INTERFACE_NAME ens3
    const [flow] = ens3.flows.query({}).flows;
    expect(flow.recentEvents).toHaveLength(1);
    expect(delivered(dispatcher, ens3.id)?.delivered).toMatchObject({ name: 1, companion: 0 });
  });
});

describe('rule 5: counters', () => {
  it('updates the ZMQ interface and the interface named by ifName, never companions', () => {
    const { zmq, ens3, cbr0, companions, dispatcher } = setup();
    companions.change('ens3', { mirrored: true });
    companions.change(zmq.id, { companion: 'ens3' });
    const counters = normaliseCounters({ ...fixture('counters-veth'), ifName: 'cbr0' });
    dispatcher.dispatch(zmq, [counters]);
    expect(zmq.hostCounters.list()).toEqual([expect.objectContaining({ host: '192.168.2.131', ifName: 'cbr0', in: { bytes: 123456789, packets: 98765, errors: 0 } })]);
    expect(cbr0.hostCounters.list()).toEqual([expect.objectContaining({ host: '192.168.2.131', ifName: 'cbr0', out: { bytes: 2345678, packets: 4567, errors: 0 } })]);
    expect(ens3.hostCounters.list()).toEqual([]);
  });
});

describe('rule 7: bounded and counted', () => {
  it('drops events past the queue bound and counts them per interface and reason', () => {
    const { zmq, cbr0, dispatcher } = setup({ queueBound: 4 });
    const events = Array.from({ length: 10 }, (_, i) => event('nprobe-mini-connect', { L4_LOCAL_PORT: 50000 + i }));
    dispatcher.dispatch(zmq, events); // one batch larger than the queue
    expect(delivered(dispatcher, zmq.id)).toMatchObject({ delivered: { home: 4 }, dropped: { 'queue-full': 6 }, queueBound: 4 });
    expect(delivered(dispatcher, cbr0.id)).toMatchObject({ delivered: { name: 4 }, dropped: { 'queue-full': 6 } });
    // A queue past half its bound is merged before dispatch returns.
    expect(delivered(dispatcher, zmq.id)?.queueSize).toBe(0);
    expect(zmq.flows.stats().active).toBe(4);
  });

  it('merges at once a queue holding a turn\'s worth of events, and leaves a smaller one to the next turn', () => {
    const { zmq, dispatcher } = setup({ queueBound: 1000, drainBatch: 5 });
    const events = (from: number, n: number) => Array.from({ length: n }, (_, i) => event('nprobe-mini-connect', { L4_LOCAL_PORT: from + i }));
    dispatcher.dispatch(zmq, events(50000, 3));
    expect(delivered(dispatcher, zmq.id)?.queueSize).toBe(3);
    dispatcher.dispatch(zmq, events(50010, 2));
    expect(delivered(dispatcher, zmq.id)?.queueSize).toBe(0);
    expect(zmq.flows.stats().active).toBe(5);
  });
});

describe('rule 8: runtime changes survive a restart', () => {
  it('keeps mirrored marks and companions in the data directory', () => {
    const first = setup();
    first.companions.change('cbr0', { mirrored: true });
    first.companions.change(first.zmq.id, { companion: 'cbr0' });
    const second = setup({ dataDir: first.dataDir });
    expect(second.companions.isMirrored(second.cbr0)).toBe(true);
    expect(second.companions.companionOf(second.zmq)).toBe('cbr0');
    second.send([event('ebpflowexport-connect-docker')]);
    expect(second.cbr0.flows.stats().active).toBe(1);
  });

  it('moves a corrupt settings file aside and reports it', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fb-corrupt-'));
    writeFileSync(join(dataDir, 'interface-settings.json'), '{"mirrored": "eth0"');
    const loaded = new SettingsStore(dataDir).load();
    expect(loaded.problem).toMatch(/could not be read .* moved to .*corrupt-/);
    expect(loaded.settings).toEqual({ mirrored: [], companions: {} });
    expect(readdirSync(dataDir).some((f) => f.includes('.corrupt-'))).toBe(true);
    expect(existsSync(join(dataDir, 'interface-settings.json'))).toBe(false);
  });

  it('refuses a configured companion that is not mirrored, naming the fix', () => {
    const { registry } = setup();
    const companions = new CompanionSettings(registry);
    expect(() => companions.init({ mirrored: [], companions: {} }, { mirrored: [], companions: { 'tcp://*:1234c': 'ens3' } })).toThrow(/add --mirrored ens3/);
  });
});
