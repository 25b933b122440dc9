// Starts the whole collector as `npm start` would, from command-line flags, with the
// HTTP API on a free loopback port and a fresh data directory.
import { mkdtempSync } from 'node:fs';
import { expect } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCli } from '../../src/cli.ts';
import { resolveConfig } from '../../src/config.ts';
import { startFlowbridge, type RunningFlowbridge } from '../../src/flowbridge.ts';
import { Producer, untilConnected } from './producer.ts';

export interface TestFlowbridge extends RunningFlowbridge {
  url: string;
  dataDir: string;
  api: (path: string, init?: RequestInit) => Promise<Response>;
  /** GET `path`, expecting 200 (the path named when not), and its JSON body. */
  json: <T>(path: string) => Promise<T>;
}

/**
 * fetch, with a GET or HEAD sent again once when the kept-alive connection it went out on
 * was closed by the server at that very moment (its idle timeout, 5 s, against the client's
 * 4 s: ECONNRESET or "other side closed" under load), as browsers do for idempotent requests.
 */
async function fetchOnce(input: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(input, init);
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    const idempotent = !init?.method || init.method === 'GET' || init.method === 'HEAD';
    if (!idempotent || (cause?.code !== 'ECONNRESET' && cause?.code !== 'UND_ERR_SOCKET')) throw err;
    return fetch(input, init);
  }
}

/** A fresh data directory; passed to startWithFlags again, a restart finds its state there, as on its machine. */
export const freshDataDir = (): string => mkdtempSync(join(tmpdir(), 'fb-data-'));

export async function startWithFlags(argv: string[], dataDir = freshDataDir()): Promise<TestFlowbridge> {
  const config = resolveConfig({}, parseCli(['--http', '127.0.0.1:0', '--data-dir', dataDir, '--max-flows', '10000', ...argv], {}).flags);
  const running = await startFlowbridge(config);
  const url = running.url!;
  return Object.assign(running, {
    url,
    dataDir,
    api: (path: string, init?: RequestInit) => fetchOnce(`${url}${path}`, init),
    json: async <T>(path: string): Promise<T> => {
      const r = await fetchOnce(`${url}${path}`);
      expect(r.status, `${path}: ${r.status}`).toBe(200);
      return r.json() as Promise<T>;
    },
  });
}

/** A producer connected to the collector's first ZMQ interface, once its subscription is through. */
export async function connectProducer(fb: RunningFlowbridge, endpoint: string): Promise<Producer> {
  const producer = Producer.connect(endpoint);
  const zmq = fb.registry.zmqInterfaces()[0];
  await untilConnected(() => producer.send('hello', {}), () => (zmq.collectorStats().messages.hello ?? 0) > 0);
  return producer;
}
