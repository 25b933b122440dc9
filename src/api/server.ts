// The HTTP(S) server the app is served by: plain HTTP, or HTTPS when a certificate and
// key are given, with the timeouts that keep a slow or idle client from holding a
// connection (a slowloris client that never finishes its request head is cut after
// headersTimeout; a whole request must arrive within requestTimeout; an idle kept-alive
// connection is closed after keepAliveTimeout).
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import type { WebLimits } from '../model/web.ts';

export interface ServeOptions {
  host: string;
  port: number;
  /** PEM files: both, or neither (plain HTTP). */
  https?: { cert: string; key: string };
  timeouts: Pick<WebLimits, 'headersTimeoutSeconds' | 'requestTimeoutSeconds' | 'keepAliveTimeoutSeconds'>;
}

/** Reads a PEM file the operator named, or says which and why not. */
function pem(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read ${flag} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Serves `app`; resolves with the server and the base URL clients use (https:// with a certificate). */
export async function serveApp(app: Hono, o: ServeOptions): Promise<{ server: ServerType; url: string }> {
  const ms = (s: number) => Math.round(s * 1000);
  const headersTimeout = ms(o.timeouts.headersTimeoutSeconds);
  const requestTimeout = ms(o.timeouts.requestTimeoutSeconds);
  // Node checks the two timeouts every connectionsCheckingInterval: often enough for the shorter.
  const serverOptions: Record<string, unknown> = {
    headersTimeout, requestTimeout: Math.max(requestTimeout, headersTimeout), connectionsCheckingInterval: Math.max(100, Math.min(headersTimeout, 30_000) / 4),
  };
  if (o.https) {
    serverOptions.cert = pem(o.https.cert, '--https-cert');
    serverOptions.key = pem(o.https.key, '--https-key');
  }
  const where = `${o.https ? 'HTTPS' : 'HTTP'} on ${o.host}:${o.port}`;
  const server = await new Promise<ServerType>((resolve, reject) => {
    let s: ServerType;
    try {
      s = serve({ fetch: app.fetch, hostname: o.host, port: o.port, serverOptions, ...(o.https ? { createServer: createHttpsServer } : {}) }, () => resolve(s));
    } catch (err) {
      // A certificate or key that is not PEM, or that do not belong together.
      reject(new Error(`cannot serve ${where} with --https-cert ${o.https?.cert} and --https-key ${o.https?.key}: ${(err as Error).message}`));
      return;
    }
    s.once('error', (err: Error) => reject(new Error(`cannot serve ${where}: ${err.message}`)));
  });
  (server as { keepAliveTimeout: number }).keepAliveTimeout = ms(o.timeouts.keepAliveTimeoutSeconds);
  const port = (server.address() as AddressInfo).port;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return { server, url: `${o.https ? 'https' : 'http'}://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}` };
}
