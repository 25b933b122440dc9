// The lines the agent's bpftrace program prints, and the records made of them.
import { describe, expect, it } from 'vitest';
import { parseEventLine } from '../../src/agent/bpftrace-program.ts';
import { flowRecord } from '../../src/agent/flow-record.ts';
import { encodeV3Header } from '../../src/agent/publisher.ts';
import { isLoopback } from '../../src/agent/route-device.ts';

const gone = { device: () => 'lo', lookup: (pid: number) => ({ pid }) };

describe('bpftrace lines', () => {
  it('parses a CONNECT with its latency and a comm with spaces', () => {
    expect(parseEventLine('E CONNECT 27554 27606 1000 4 127.0.0.1 59292 127.0.0.1 16500 45 4026531833 node (vitest 1)')).toEqual({
      type: 'CONNECT', protocol: 6, accepted: false, netns: 4026531833, pid: 27554, tid: 27606, uid: 1000, comm: 'node (vitest 1)', ipVersion: 4,
      localAddr: '127.0.0.1', localPort: 59292, remoteAddr: '127.0.0.1', remotePort: 16500, latencyMs: 0.045,
    });
  });

  it('an accepted socket has the remote client as SRC, for ACCEPT and its CLOSE', () => {
    for (const line of ['E ACCEPT 7 7 0 6 ::1 18751 ::1 43370 0 4026531833 python3', 'E CLOSE_ACCEPTED 7 7 0 6 ::1 18751 ::1 43370 0 4026531833 10 20 0 3 4 50 25 python3']) {
      const ev = parseEventLine(line)!;
      expect(ev.accepted).toBe(true);
      expect(flowRecord(ev, gone)).toMatchObject({ IPV6_SRC_ADDR: '::1', L4_SRC_PORT: 43370, L4_DST_PORT: 18751, IP_PROTOCOL_VERSION: 6 });
    }
    expect(parseEventLine('E CLOSE_ACCEPTED 7 7 0 6 ::1 18751 ::1 43370 0 4026531833 10 20 0 3 4 50 25 python3')!.type).toBe('CLOSE');
  });

  it('a process already gone keeps the name bpftrace saw; an unknown pid gets no process', () => {
    const r = flowRecord(parseEventLine('E CONNECT 999999 999999 0 4 10.0.0.1 40000 10.0.0.2 80 10 4026531833 curl')!, gone);
    expect(r).toMatchObject({ TCP_EVENT_TYPE: 'CONNECT', NW_LATENCY_MS: 0.01, LOCAL_PROCESS: { PID: 999999, UID: 0, UID_NAME: 'root', PROCESS_PATH: 'curl' } });
    expect(flowRecord(parseEventLine('E CLOSE 0 0 0 4 10.0.0.1 40000 10.0.0.2 80 0 4026531833 1 1 0 1 1 0 0 ')!, gone).LOCAL_PROCESS).toBeUndefined();
  });

  it('a CLOSE of a socket this host connected carries its counters in the netstat TCP block; an accepted one does not', () => {
    const closed = parseEventLine('E CLOSE 42 42 0 4 127.0.0.1 40000 127.0.0.1 80 0 4026531833 5001 100002 3 40 80 1250 500 python3')!;
    expect(closed.counters).toEqual({ bytesReceived: 5001, bytesAcked: 100002, retransmissions: 3, segmentsIn: 40, segmentsOut: 80, rttUs: 1250, rttVarianceUs: 500 });
    expect(flowRecord(closed, gone).TCP).toEqual({ CONN_STATE: 'CLOSE', BYTES_RCVD: 5001, BYTES_ACKED: 100002, RETRAN_PKTS: 3, SEGS_IN: 40, SEGS_OUT: 80, RTT: 1.25, RTT_VARIANCE: 0.5 });
    expect(flowRecord(parseEventLine('E CLOSE_ACCEPTED 7 7 0 4 127.0.0.1 80 127.0.0.1 40000 0 4026531833 10 20 0 3 4 50 25 python3')!, gone).TCP).toBeUndefined();
    expect(parseEventLine('E CONNECT 42 42 0 4 127.0.0.1 40000 127.0.0.1 80 7 4026531833 python3')!.counters).toBeUndefined();
  });

  it('a UDP line is a SEND from the local socket; one bound to any address gets the source of its route', () => {
    const ev = parseEventLine('U 42 43 1000 4 0.0.0.0 40000 127.0.0.1 53 4026531833 python3 x')!;
    expect(ev).toMatchObject({ type: 'SEND', protocol: 17, pid: 42, tid: 43, uid: 1000, localAddr: '0.0.0.0', localPort: 40000, remoteAddr: '127.0.0.1', remotePort: 53, comm: 'python3 x' });
    expect(flowRecord(ev, { ...gone, source: (remote: string) => remote })).toMatchObject({
      PROTOCOL: 17, UDP_EVENT_TYPE: 'SEND', IPV4_SRC_ADDR: '127.0.0.1', L4_SRC_PORT: 40000, IPV4_DST_ADDR: '127.0.0.1', L4_DST_PORT: 53, LOCAL_PROCESS: { PID: 42 },
    });
  });

  it('a socket in another network namespace: the route to its own address is its interface; its loopback is none of this host\'s', () => {
    const device = (remote: string) => (remote === '10.9.9.2' ? 'veth0' : 'eth0');
    const e = { device, lookup: (pid: number) => ({ pid }), netns: 1 };
    expect(flowRecord(parseEventLine('E CONNECT 42 42 0 4 10.9.9.2 40000 10.9.9.1 80 7 2 curl')!, e).INTERFACE_NAME).toBe('veth0');
    expect(flowRecord(parseEventLine('E CONNECT 42 42 0 4 127.0.0.1 40000 127.0.0.1 80 7 2 curl')!, e).INTERFACE_NAME).toBeUndefined();
    expect(flowRecord(parseEventLine('E CONNECT 42 42 0 4 10.9.9.2 40000 10.9.9.1 80 7 1 curl')!, e).INTERFACE_NAME).toBe('eth0');
  });

  it('a process part written once and reused gives the same records; a comm with quotes stays valid JSON', async () => {
    const { flowRecordJson, processFragments } = await import('../../src/agent/flow-record.ts');
    const e = { device: () => 'lo', lookup: (pid: number) => ({ pid, path: '/usr/bin/a "b"', ppid: pid === 42 ? 1 : undefined }) };
    const cached = { ...e, fragments: processFragments() };
    for (const line of ['E CONNECT 42 43 0 4 127.0.0.1 40000 127.0.0.1 80 7 1 say "hi"', 'E CLOSE 42 43 0 4 127.0.0.1 40000 127.0.0.1 80 0 1 1 2 0 3 4 5 6 say "hi"', 'E CONNECT 42 43 0 4 127.0.0.1 40001 127.0.0.1 80 9 1 say "hi"']) {
      const ev = parseEventLine(line)!;
      const plain = flowRecordJson(ev, e, 1_700_000_000_123);
      expect(flowRecordJson(ev, cached, 1_700_000_000_123)).toBe(plain);
      expect(JSON.parse(plain)).toMatchObject({ timestamp: '1700000000.123000', LOCAL_PROCESS: { PID: 42, PROCESS_NAME: 'say "hi"', PROCESS_PATH: '/usr/bin/a "b"' }, LOCAL_FATHER_PROCESS: { PID: 1 } });
    }
    expect(cached.fragments.size).toBe(1);
  });

  it('ignores what is not an event line', () => {
    expect(parseEventLine('Attaching 3 probes...')).toBeUndefined();
    expect(parseEventLine('E CONNECT x')).toBeUndefined();
  });

  it('writes v3 headers: 36 bytes, version 4, msg_id big-endian, source_id', () => {
    const h = encodeV3Header('flow', 100, 258, 7);
    expect(h.length).toBe(36);
    expect(h.subarray(0, 4).toString()).toBe('flow');
    expect(h[16]).toBe(4);
    expect(h.readUInt32BE(28)).toBe(258);
    expect(h.readUInt32LE(32)).toBe(7);
  });

  it('knows loopback addresses', () => {
    expect(['127.0.0.1', '127.9.9.9', '::1', '::ffff:127.0.0.1'].every(isLoopback)).toBe(true);
    expect(['10.0.0.1', '::2', 'fe80::1'].some(isLoopback)).toBe(false);
  });
});

describe('/proc tables', async () => {
  const { parseProcNetTcp, procNetAddress } = await import('../../src/agent/netstat.ts');
  const { parseProcNetDev } = await import('../../src/agent/counters.ts');

  it('reads /proc/net/tcp and tcp6 rows: addresses in host order, ports and state in hex', () => {
    const v4 = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 123456 1 0000000000000000 20 4 30 10 -1
   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2222 1 0000000000000000 100 0 0 10 0`;
    expect(parseProcNetTcp(v4, 4)).toEqual([
      { ipVersion: 4, localAddr: '127.0.0.1', localPort: 8080, remoteAddr: '127.0.0.1', remotePort: 50000, state: 'ESTABLISHED', uid: 0, inode: 123456 },
      { ipVersion: 4, localAddr: '0.0.0.0', localPort: 22, remoteAddr: '0.0.0.0', remotePort: 0, state: 'LISTEN', uid: 0, inode: 2222 },
    ]);
    expect(procNetAddress('00000000000000000000000001000000')).toBe('::1');
    expect(procNetAddress('0000000000000000FFFF00000100007F')).toBe('::ffff:127.0.0.1');
    expect(procNetAddress('B80D0120000000000000000001000000')).toBe('2001:db8::1');
  });

  it('reads /proc/net/dev counters', () => {
    const text = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 1000      10    0    0    0     0          0         0     2000      20    1    0    0     0       0          0`;
    expect(parseProcNetDev(text)).toEqual([{ name: 'lo', rxBytes: 1000, rxPackets: 10, rxErrors: 0, txBytes: 2000, txPackets: 20, txErrors: 1 }]);
  });
});

describe('the publisher queue', () => {
  it('is bounded: what does not fit is dropped and counted, never waited for; what waits leaves in one message', async () => {
    const { AgentPublisher } = await import('../../src/agent/publisher.ts');
    const p = await AgentPublisher.open({ endpoint: 'tcp://127.0.0.1:18730', queueBound: 3 });
    try {
      // Three wait for the socket (it is written to on the next turn), the other seven are dropped.
      const accepted = Array.from({ length: 10 }, (_, i) => p.publish('flow', { i }));
      expect(accepted.filter(Boolean)).toHaveLength(3);
      expect(p.stats()).toMatchObject({ bound: 3, queued: 3, drops: 7 });
      const { waitFor } = await import('../support/wait.ts');
      await waitFor(() => p.stats().sent === 3, 'the queued records to be sent');
      // Together, as one message.
      expect(p.stats()).toMatchObject({ queued: 0, sent: 3, messages: 1, drops: 7 });
    } finally {
      p.close();
    }
  });
});
