// `npm run demo`: the collector plus a demo producer that makes real connections on
// `lo` and publishes the events an eBPF exporter would send for them, so the pages show
// merged, process-aware flows within seconds. The producer speaks the same wire format
// as ebpflowexport (v0 header, JSON payload) over a real ZMQ PUB socket.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { createSocket } from 'node:dgram';
import { Publisher } from 'zeromq';
import { parseCli } from '../src/cli.ts';
import { resolveConfig } from '../src/config.ts';
import { startFlowbridge } from '../src/flowbridge.ts';
import { encodeHeader } from '../src/collector/wire/header.ts';

interface DemoProcess {
  PID: number;
  UID: number;
  UID_NAME: string;
  GID: number;
  GID_NAME: string;
  PROCESS_PATH: string;
  PROCESS_CMDLINE: string;
}

const proc = (pid: number, path: string, cmdline: string, user = 'root', uid = 0): DemoProcess => ({
  PID: pid, UID: uid, UID_NAME: user, GID: uid, GID_NAME: user, PROCESS_PATH: path, PROCESS_CMDLINE: cmdline,
});

/** Local services the demo runs, with the process and container an exporter would report for them. */
const SERVICES = [
  { port: 18080, name: 'web', process: proc(4101, '/usr/sbin/nginx', '-g daemon off;', 'www-data', 33), container: { DOCKER: { ID: 'a1b2c3d4e5f6a7b8c9d0', NAME: 'web' } } },
  { port: 18432, name: 'db', process: proc(4202, '/usr/lib/postgresql/15/bin/postgres', '-D /var/lib/postgresql', 'postgres', 104), container: { K8S: { ID: 'f0e1d2c3b4a5', NAME: 'postgres', POD: 'db-0', NS: 'prod' } } },
];
const CLIENTS = [
  { process: proc(5301, '/usr/bin/curl', 'http://127.0.0.1:18080/', 'alice', 1000), parent: proc(5300, '/usr/bin/bash', '', 'alice', 1000), service: 0 },
  { process: proc(5402, '/usr/bin/python3.11', 'worker.py --queue jobs', 'app', 1001), parent: proc(1, '/usr/lib/systemd/systemd', '--system'), service: 1 },
  { process: proc(5503, '/usr/bin/psql', '-h 127.0.0.1 -p 18432', 'bob', 1002), parent: proc(5500, '/usr/bin/zsh', '', 'bob', 1002), service: 1 },
];
const DNS = { port: 18053, process: proc(612, '/usr/lib/systemd/systemd-resolved', '', 'systemd-resolve', 990) };

const now = () => (Date.now() / 1000).toFixed(6);

async function main(): Promise<void> {
  const cli = parseCli(process.argv.slice(2));
  const config = resolveConfig({}, cli.flags);
  const running = await startFlowbridge(config, { log: (l) => console.log(l) });
  const zmq = config.interfaces.find((i) => i.kind === 'zmq')!;

  const pub = new Publisher();
  pub.connect(zmq.endpoints.split(',')[0].replace('*', '127.0.0.1').replace(/c$/, '').replace('zmq://', 'tcp://'));
  // zeromq allows one send in flight per socket: chain them.
  let sending: Promise<void> = Promise.resolve();
  const send = (topic: string, event: object) => {
    const payload = Buffer.from(JSON.stringify(event));
    sending = sending.then(() => pub.send([encodeHeader({ layout: 0, topic, size: payload.length }), payload])).catch(() => {});
  };

  const servers: Server[] = SERVICES.map((svc) => {
    const server = createServer((sock) => {
      send('flow', {
        timestamp: now(), INTERFACE_NAME: 'lo', IP_PROTOCOL_VERSION: 4, PROTOCOL: 6, TCP_EVENT_TYPE: 'ACCEPT',
        IPV4_SRC_ADDR: sock.remoteAddress, IPV4_DST_ADDR: '127.0.0.1', L4_SRC_PORT: sock.remotePort, L4_DST_PORT: svc.port,
        LOCAL_PROCESS: svc.process, LOCAL_CONTAINER: svc.container,
      });
      sock.on('data', (d) => sock.write(Buffer.alloc(d.length * 20, 'x')));
      sock.on('error', () => {});
    });
    server.listen(svc.port, '127.0.0.1');
    return server;
  });
  const dns = createSocket('udp4');
  dns.on('message', (msg, rinfo) => dns.send(Buffer.alloc(msg.length * 3, 1), rinfo.port, rinfo.address));
  dns.bind(DNS.port, '127.0.0.1');

  const open = new Set<{ sock: Socket; client: (typeof CLIENTS)[number] }>();
  let round = 0;
  const connectOnce = () => {
    const client = CLIENTS[round++ % CLIENTS.length];
    const svc = SERVICES[client.service];
    const t0 = performance.now();
    const sock = connect({ host: '127.0.0.1', port: svc.port }, () => {
      send('flow', {
        timestamp: now(), INTERFACE_NAME: 'lo', IP_PROTOCOL_VERSION: 4, PROTOCOL: 6, TCP_EVENT_TYPE: 'CONNECT',
        IPV4_SRC_ADDR: '127.0.0.1', IPV4_DST_ADDR: '127.0.0.1', L4_SRC_PORT: sock.localPort, L4_DST_PORT: svc.port,
        NW_LATENCY_MS: Number((performance.now() - t0).toFixed(3)), LOCAL_PROCESS: client.process, LOCAL_FATHER_PROCESS: client.parent,
      });
      const entry = { sock, client };
      open.add(entry);
      sock.write(Buffer.alloc(200 + (round % 7) * 100, 'q'));
      setTimeout(() => {
        open.delete(entry);
        send('flow', {
          timestamp: now(), INTERFACE_NAME: 'lo', IP_PROTOCOL_VERSION: 4, PROTOCOL: 6, TCP_EVENT_TYPE: 'CLOSE',
          IPV4_SRC_ADDR: '127.0.0.1', IPV4_DST_ADDR: '127.0.0.1', L4_SRC_PORT: sock.localPort, L4_DST_PORT: svc.port,
          LOCAL_PROCESS: client.process,
        });
        sock.end();
      }, 3_000 + (round % 5) * 1_000);
    });
    sock.on('data', () => {});
    sock.on('error', () => {});
  };

  const resolver = createSocket('udp4');
  resolver.bind(0, '127.0.0.1', () => {
    setInterval(() => {
      resolver.send(Buffer.alloc(40, 7), DNS.port, '127.0.0.1');
      send('flow', {
        timestamp: now(), INTERFACE_NAME: 'lo', IP_PROTOCOL_VERSION: 4, PROTOCOL: 17, UDP_EVENT_TYPE: 'SEND',
        IPV4_SRC_ADDR: '127.0.0.1', IPV4_DST_ADDR: '127.0.0.1', L4_SRC_PORT: resolver.address().port, L4_DST_PORT: DNS.port,
        LOCAL_PROCESS: CLIENTS[1].process,
      });
    }, 2_000);
  });

  const netstat = () => {
    for (const { sock, client } of open) {
      send('flow', {
        timestamp: now(), INTERFACE_NAME: 'lo', IP_PROTOCOL_VERSION: 4, PROTOCOL: 6,
        IPV4_LOCAL_ADDR: '127.0.0.1', IPV4_REMOTE_ADDR: '127.0.0.1', L4_LOCAL_PORT: sock.localPort, L4_REMOTE_PORT: sock.remotePort,
        LOCAL_PROCESS: client.process,
        TCP: { CONN_STATE: 'ESTABLISHED', SEGS_IN: 4, SEGS_OUT: 3, UNACK_SEGMENTS: 0, RETRAN_PKTS: 0, LOST_PKTS: 0, RTT: 0.05, RTT_VARIANCE: 0.01, BYTES_RCVD: sock.bytesRead, BYTES_ACKED: sock.bytesWritten },
      });
    }
    send('counter', {
      deviceIP: 2130706433, ifIndex: 1, ifName: 'lo', ifType: 24, ifSpeed: 0, ifDirection: 'Full', ifAdminStatus: 'Up', ifOperStatus: 'Up',
      ifInOctets: Math.round(process.uptime() * 5_000), ifInPackets: Math.round(process.uptime() * 40), ifInErrors: 0,
      ifOutOctets: Math.round(process.uptime() * 5_000), ifOutPackets: Math.round(process.uptime() * 40), ifOutErrors: 0, ifPromiscuousMode: 0,
    });
    send('listening-ports', {
      'listening-ports': { tcp4: SERVICES.map((s) => ({ port: s.port, proc: s.process.PROCESS_PATH.split('/').pop() })), udp4: [{ port: DNS.port, proc: 'systemd-resolved' }], tcp6: [], udp6: [] },
      'ip-addresses': ['127.0.0.1'], 'instance-name': 'demo-host',
    });
  };

  const timers = [setInterval(connectOnce, 700), setInterval(netstat, 5_000)];
  console.log('demo: producing events for real connections on lo; open the pages above (Ctrl-C to stop)');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  for (const t of timers) clearInterval(t);
  for (const { sock } of open) sock.destroy();
  for (const s of servers) s.close();
  dns.close();
  resolver.close();
  pub.close();
  await running.stop();
}

await main();
