// Recording on a veth pair into a namespace this test creates: TCP and UDP flows from
// the namespace, one of them reported by a CONNECT event (process and Docker container)
// sent over ZMQ naming the veth; the packets come back by window, BPF, host and port,
// flow key, process and container, exactly as sent and nothing else (tshark).
import { writeFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fixture } from '../support/fixtures.ts';
import { connectProducer, startWithFlags } from '../support/flowbridge.ts';
import { createVethPair, type VethPair } from '../support/netns.ts';
import { describeAsRoot } from '../support/privileges.ts';
import type { Producer } from '../support/producer.ts';
import { waitFor } from '../support/wait.ts';
import { tempDir, tsharkRead, type TsharkPacket } from './support.ts';

const ZMQ_PORT = 16310;
const TCP_PORT = 16311;
const UDP_PORT = 16312;
const SUBNET = '10.213.181';
const CONTAINER = 'cbd2540ec5be8b1c46d0f5a37d2f4c0e9a86f2b3d9c4a1e7b6f5d4c3';

describeAsRoot('recording on a veth pair', 'create a network namespace and capture on its veth', () => {
  let fb: Awaited<ReturnType<typeof startWithFlags>>;
  let veth: VethPair;
  let producer: Producer;
  const out = tempDir('rec-veth-out');

  beforeAll(async () => {
    veth = createVethPair(`r${process.pid % 1000}`, SUBNET, { prefix: 'fbre' });
    fb = await startWithFlags(['-i', `tcp://127.0.0.1:${ZMQ_PORT}c`, '-i', veth.hostIf, '--record', `${veth.hostIf}=64MB`]);
    producer = await connectProducer(fb, `tcp://127.0.0.1:${ZMQ_PORT}`);
    await waitFor(async () => ((await (await fb.api('/api/v1/interfaces/1/recording')).json()) as { state: string }).state === 'running', 'the recording to run');
  });
  afterAll(async () => {
    producer?.close();
    await fb?.stop();
    veth?.remove();
  });

  it('gives back each flow by window, BPF, host and port, flow key, process and container', async () => {
    const begin = Date.now() / 1000 - 0.01;
    const server = createServer((s) => {
      s.on('data', () => {});
      s.on('end', () => s.end(Buffer.alloc(5_000, 115)));
    });
    await new Promise<void>((r) => server.listen(TCP_PORT, veth.hostIp, r));
    const sink = createSocket('udp4');
    await new Promise<void>((r) => sink.bind(UDP_PORT, veth.hostIp, r));
    // From the namespace: a TCP connection from a fixed port (the "container" process), and two UDP flows.
    await veth.exec([process.execPath, '-e', `
      const u = require('dgram').createSocket('udp4');
      u.bind(16350, () => {
        for (let i = 0; i < 5; i++) { const b = Buffer.alloc(300 + i, 65 + i); u.send(b, ${UDP_PORT}, '${veth.hostIp}'); }
        const v = require('dgram').createSocket('udp4');
        v.bind(16351, () => { for (let i = 0; i < 3; i++) v.send(Buffer.alloc(700 + i, 97 + i), ${UDP_PORT}, '${veth.hostIp}', () => i === 2 && (v.close(), u.close())); });
      });
      const c = require('net').connect({ host: '${veth.hostIp}', port: ${TCP_PORT}, localPort: 16352 }, () => c.end(Buffer.alloc(12000, 116)));
      c.on('data', () => {});
    `], 15_000);
    // The namespace's agent says who made the TCP connection: a curl in a Docker container.
    await producer.send('flow', {
      ...fixture('ebpflowexport-connect-docker'), INTERFACE_NAME: veth.hostIf,
      IPV4_SRC_ADDR: veth.nsIp, IPV4_DST_ADDR: veth.hostIp, L4_SRC_PORT: 16352, L4_DST_PORT: TCP_PORT,
      LOCAL_CONTAINER: { DOCKER: { ID: CONTAINER, NAME: 'sleepy_haibt' } },
    });
    await waitFor(async () => ((await (await fb.api('/api/v1/interfaces/1/flows?process=curl')).json()) as { total: number }).total === 1, 'the event to merge');
    await waitFor(async () => ((await (await fb.api('/api/v1/interfaces/1/recording')).json()) as { packets: number }).packets >= 8 + 10, 'the packets recorded');
    await new Promise((r) => setTimeout(r, 500));
    const end = Date.now() / 1000;
    server.close();
    sink.close();

    const get = async (query: string) => {
      const r = await fb.api(`/api/v1/interfaces/1/pcap?begin=${begin}&end=${end}${query}`);
      expect(r.status, query).toBe(200);
      const file = join(out, `${Math.random().toString(36).slice(2)}.pcap`);
      writeFileSync(file, Buffer.from(await r.arrayBuffer()));
      return tsharkRead(file);
    };
    const udpPayloads = (ps: TsharkPacket[]) => ps.filter((p) => p.protocol === 'udp' && p.dstPort === UDP_PORT).map((p) => p.payload);
    const tcpTo = (ps: TsharkPacket[]) => Buffer.concat(ps.filter((p) => p.protocol === 'tcp' && p.dstPort === TCP_PORT).map((p) => p.payload));
    const tcpFrom = (ps: TsharkPacket[]) => Buffer.concat(ps.filter((p) => p.protocol === 'tcp' && p.srcPort === TCP_PORT).map((p) => p.payload));
    const flowU = Array.from({ length: 5 }, (_, i) => Buffer.alloc(300 + i, 65 + i));
    const flowV = Array.from({ length: 3 }, (_, i) => Buffer.alloc(700 + i, 97 + i));

    const all = await get('');
    expect(udpPayloads(all).sort(Buffer.compare)).toEqual([...flowU, ...flowV].sort(Buffer.compare));
    expect(tcpTo(all)).toEqual(Buffer.alloc(12_000, 116));
    expect(tcpFrom(all)).toEqual(Buffer.alloc(5_000, 115));

    const byBpf = await get(`&bpf=${encodeURIComponent('udp src port 16351')}`);
    expect(udpPayloads(byBpf)).toEqual(flowV);
    expect(byBpf).toHaveLength(3);
    const byHostPort = await get(`&host=${veth.nsIp}&port=16350`);
    expect(udpPayloads(byHostPort)).toEqual(flowU);
    expect(byHostPort).toHaveLength(5);
    const byFlow = await get(`&flow=${encodeURIComponent(`17|${veth.hostIp}|${UDP_PORT}|${veth.nsIp}|16350`)}`);
    expect(byFlow.map((p) => p.payload)).toEqual(flowU);

    for (const query of ['&process=curl', '&process=30197', `&container=${CONTAINER.slice(0, 12)}`, '&container=sleepy_haibt']) {
      const ps = await get(query);
      expect(ps.every((p) => p.protocol === 'tcp' && (p.srcPort === 16352 || p.dstPort === 16352)), query).toBe(true);
      expect(tcpTo(ps), query).toEqual(Buffer.alloc(12_000, 116));
      expect(tcpFrom(ps), query).toEqual(Buffer.alloc(5_000, 115));
    }
  });
});
