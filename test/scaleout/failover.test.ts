// A server that answers clients but serves no JetStream (here: one started without it;
// in a cluster, one left without JetStream for minutes after a peer failed) must not hold
// flowbridge: after 5 s of JetStream failing through it, the connection moves to the next
// server of --nats, where the streams are made. Real nats-server processes. The client
// picks its first server at random: when it picks the one with JetStream, there is no
// failover to count, and the outcome is the same.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect as tcpConnect } from 'node:net';
import { afterAll, expect, it } from 'vitest';
import { startWithFlags } from '../support/flowbridge.ts';
import { freePort, natsServerInstalled, readStream, startNatsCluster, type NatsCluster } from '../support/nats.ts';
import { waitFor } from '../support/wait.ts';

let plain: ChildProcess | undefined;
let cluster: NatsCluster | undefined;
let fb: Awaited<ReturnType<typeof startWithFlags>> | undefined;

afterAll(async () => {
  await fb?.stop();
  plain?.kill('SIGKILL');
  await cluster?.stop();
});

const accepts = (port: number) => new Promise<boolean>((resolve) => {
  const s = tcpConnect({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true); });
  s.once('error', () => resolve(false));
});

it('moves to another server when the one it reached serves no JetStream, and makes its streams there', async () => {
  if (!natsServerInstalled) throw new Error('nats-server is not installed (scripts/bootstrap.mjs --test installs it)');
  const [withoutJs, withJs, zmq] = [await freePort(), await freePort(), await freePort()];
  plain = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(withoutJs)], { stdio: 'ignore' });
  await waitFor(() => accepts(withoutJs), 'the server without JetStream');

  cluster = await startNatsCluster(1, { clientPorts: [withJs] });
  fb = await startWithFlags(['-i', `tcp://127.0.0.1:${zmq}c`, '--nats', `nats://127.0.0.1:${withoutJs},nats://127.0.0.1:${withJs}`, '--nats-replicas', '1', '--node-name', 'edge1']);
  const link = () => fb!.telemetry.scaleout!().connection;
  await waitFor(() => link().state === 'connected', 'connected with streams ready', 30_000).catch((err: Error) => { throw new Error(`${err.message}: ${JSON.stringify(link())}`); });
  expect(link().server).toContain(String(withJs));
  // Reached the server without JetStream first: refused for 5 s, then moved.
  if (link().failovers > 0) expect(link().lastError).toMatch(/jetstream is not enabled/i);
  const metrics = await (await fb.api('/metrics')).text();
  expect(metrics).toContain(`flowbridge_nats_failovers_total ${link().failovers}`);
  // The streams were made on the server with JetStream.
  await expect(readStream(cluster.urls, 'FLOWBRIDGE_FLOWS')).resolves.toEqual([]);
}, 90_000);
