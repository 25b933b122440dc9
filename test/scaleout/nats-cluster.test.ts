// The test cluster itself: three nodes with JetStream, a stream of replicas 3 keeps
// taking messages while one node is killed, and de-duplicates by message id.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { natsServerInstalled, startNatsCluster, type NatsCluster } from '../support/nats.ts';

describe.skipIf(!natsServerInstalled)('test NATS cluster', () => {
  let cluster: NatsCluster;
  beforeAll(async () => { cluster = await startNatsCluster(3); }, 60_000);
  afterAll(async () => { await cluster?.stop(); });

  it('keeps a replicas-3 stream writable with a node killed, and de-duplicates by Nats-Msg-Id', async () => {
    const nc = await connect({ servers: cluster.urls.split(','), maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'T', subjects: ['t.>'], num_replicas: 3 });
      const js = jetstream(nc);
      const h = headers();
      h.set('Nats-Msg-Id', 'one');
      await js.publish('t.a', 'x', { headers: h });
      const again = await js.publish('t.a', 'x', { headers: h });
      expect(again.duplicate).toBe(true);
      await cluster.kill(1);
      expect(cluster.nodes[1].running).toBe(false);
      let ok = false;
      for (let i = 0; i < 100 && !ok; i++) {
        try { await js.publish('t.b', 'y', { msgID: 'two', timeout: 2000 }); ok = true; } catch { await new Promise((r) => setTimeout(r, 200)); }
      }
      expect(ok).toBe(true);
      await cluster.restart(1);
      await cluster.jetStreamReady();
      expect((await jsm.streams.info('T')).state.messages).toBe(2);
    } finally {
      await nc.close();
    }
  }, 90_000);
});
