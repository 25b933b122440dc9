// What one user may hold at once, over real HTTP against a collector whose lo recording
// holds 40 MB of crafted packets: a second packet download while the first still streams
// is answered 429 naming the bound (another user is served meanwhile) and is served again
// once the first has ended; a second extraction job while the first is in progress too.
// The refusals are counted on /metrics.
import { get } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startWithFlags } from '../support/flowbridge.ts';
import { frame } from '../support/pcap-writer.ts';
import { describeAsRoot } from '../support/privileges.ts';
import { waitFor } from '../support/wait.ts';
import { recordFrames, T0, tempDir } from '../recording/support.ts';

const ADMIN = 'per-user-bounds-admin';
let fb: Awaited<ReturnType<typeof startWithFlags>>;
const tokens: Record<string, string> = {};
const window = `begin=${T0 / 1000}&end=${T0 / 1000 + 10}`;

const as = (user: string) => ({ authorization: `Bearer ${tokens[user]}` });
const metric = async (line: string) => (await (await fb.api('/metrics', { headers: { authorization: `Bearer ${ADMIN}` } })).text()).split('\n').includes(line);

/** Opens a packet download and leaves it unread (paused): it stays open, held back by the socket. */
function openStream(user: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = get(`${fb.url}/api/v1/interfaces/1/pcap?${window}`, { headers: as(user) }, (res) => {
      res.pause();
      resolve(res);
    });
    req.on('error', reject);
  });
}

describeAsRoot('per-user bounds on packet downloads and extraction jobs', 'record lo', () => {
  beforeAll(async () => {
    const pcapDir = tempDir('bounds-pcap');
    // 40 MB in the recording of interface 1 (lo): more than the sockets between here and the client hold.
    const frames = Array.from({ length: 28_000 }, (_, i) => frame({ src: '10.9.0.1', dst: '10.9.0.2', protocol: 'udp', sport: 40_000 + (i % 50), dport: 9, payload: 1400 }));
    recordFrames(join(pcapDir, '1'), frames, 100);
    fb = await startWithFlags(['-i', 'tcp://127.0.0.1:16585c', '-i', 'lo', '--bpf', 'lo=udp port 16586', '--record', 'lo=2GB', '--pcap-dir', pcapDir,
      '--api-token', ADMIN, '--max-pcap-streams-per-user', '1', '--max-extractions-per-user', '1']);
    const admin = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
    for (const name of ['alice', 'bob']) {
      expect((await fb.api('/api/v1/users', { method: 'POST', headers: admin, body: JSON.stringify({ name, roles: ['operator'], grants: ['pcap'] }) })).status).toBe(201);
      tokens[name] = ((await (await fb.api(`/api/v1/users/${name}/tokens`, { method: 'POST', headers: admin })).json()) as { token: string }).token;
    }
  }, 60_000);
  afterAll(async () => {
    await fb?.stop();
  });

  it('refuses a second packet download of a user while the first streams, serves another user, and serves again once it ended', async () => {
    const first = await openStream('alice');
    expect(first.statusCode).toBe(200);
    const second = await fb.api(`/api/v1/interfaces/1/pcap?${window}`, { headers: as('alice') });
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBe('1');
    expect(await second.json()).toEqual({
      error: 'user alice already streams 1 packet download, the most one caller may at once (--max-pcap-streams-per-user 1): try again when one has finished',
      bound: 1,
    });
    // Another user is not held back by alice's download.
    const bobs = await fb.api(`/api/v1/interfaces/1/pcap?${window}`, { headers: as('bob') });
    expect(bobs.status).toBe(200);
    expect((await bobs.arrayBuffer()).byteLength).toBeGreaterThan(40_000_000);
    expect(await metric('flowbridge_pcap_streams 1')).toBe(true);
    expect(await metric('flowbridge_http_refused_total{reason="pcap-streams-per-user"} 1')).toBe(true);

    // The client goes away: the slot is free again.
    first.destroy();
    await waitFor(() => metric('flowbridge_pcap_streams 0'), 'the abandoned download to end');
    const again = await fb.api(`/api/v1/interfaces/1/pcap?${window}`, { headers: as('alice') });
    expect(again.status).toBe(200);
    await again.arrayBuffer();
    await waitFor(() => metric('flowbridge_pcap_streams 0'), 'the download to end');
  });

  it('refuses a second extraction job of a user while the first is in progress, and takes it once it finished', async () => {
    const create = (user: string) => fb.api('/api/v1/extractions', {
      method: 'POST', headers: { ...as(user), 'content-type': 'application/json' }, body: JSON.stringify({ interface: 1, begin: T0 / 1000, end: T0 / 1000 + 10 }),
    });
    const first = await create('alice');
    expect(first.status).toBe(202);
    const { id } = (await first.json()) as { id: string };
    const second = await create('alice');
    expect(second.status).toBe(429);
    expect(await second.json()).toEqual({
      error: 'user alice already has 1 extraction job queued or running, the most one caller may (--max-extractions-per-user 1): stop one or wait for it to finish',
      bound: 1,
    });
    expect((await create('bob')).status).toBe(202);
    await waitFor(async () => ((await (await fb.api(`/api/v1/extractions/${id}`, { headers: as('alice') })).json()) as { status: string }).status === 'completed', 'alice\'s job to finish', 30_000);
    expect((await create('alice')).status).toBe(202);
    expect(await metric('flowbridge_http_refused_total{reason="extractions-per-user"} 1')).toBe(true);
  });
});
