// The HTTP server over real sockets: a slowloris client that never finishes its request
// head is cut after the headers timeout while other clients are served; HTTPS with a
// self-signed certificate made by openssl serves the pages and the API; a certificate
// without its key, or a file that cannot be read, is refused with a clear message.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { parseCli } from '../../src/cli.ts';
import { readConfigFile, resolveConfig } from '../../src/config.ts';
import { WEB_LIMIT_DEFAULTS } from '../../src/model/web.ts';
import { startWithFlags } from '../support/flowbridge.ts';
import { waitFor } from '../support/wait.ts';

it('cuts a client that keeps its request head open, and serves the others meanwhile', async () => {
  const fb = await startWithFlags(['-i', 'tcp://127.0.0.1:16582c', '--headers-timeout', '1']);
  try {
    const { port } = new URL(fb.url);
    const socket = connect(Number(port), '127.0.0.1');
    let received = '';
    let closed = false;
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (received += d));
    socket.on('close', () => (closed = true));
    socket.on('error', () => {});
    await new Promise((r) => socket.once('connect', r));
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    // A header line now and then, never the blank line that ends the head.
    let n = 0;
    const drip = setInterval(() => socket.writable && socket.write(`X-Slow-${n++}: a\r\n`), 100);
    try {
      expect((await fb.api('/healthz')).status).toBe(200);
      await waitFor(() => closed, 'the server to close the slow connection', 20_000);
    } finally {
      clearInterval(drip);
      socket.destroy();
    }
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect(n).toBeGreaterThan(0);
    expect((await fb.api('/healthz')).status).toBe(200);
  } finally {
    await fb.stop();
  }
});

it('closes a kept-alive connection left idle past the keep-alive timeout', async () => {
  const fb = await startWithFlags(['-i', 'tcp://127.0.0.1:16588c', '--keep-alive-timeout', '1']);
  try {
    const socket = connect(Number(new URL(fb.url).port), '127.0.0.1');
    let received = '';
    let closed = false;
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (received += d));
    socket.on('close', () => (closed = true));
    await new Promise((r) => socket.once('connect', r));
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');
    await waitFor(() => received.includes('{"ok":true}'), 'the answer');
    expect(received).toMatch(/^HTTP\/1\.1 200 /);
    expect(received).toMatch(/Keep-Alive: timeout=1/i);
    await waitFor(() => closed, 'the server to close the idle connection', 20_000);
  } finally {
    await fb.stop();
  }
});

it('takes the bounds and HTTPS from the config file, flags winning', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fb-tls-'));
  const { cert, key } = selfSigned(dir);
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ https: { cert, key }, web: { maxBodyBytes: 65536, headersTimeoutSeconds: 5, maxPcapStreamsPerUser: 2, sessionHours: 1 } }));
  const config = resolveConfig(readConfigFile(file), parseCli(['--max-body', '2MiB'], {}).flags);
  expect(config.https).toEqual({ cert, key });
  expect(config.web).toEqual({ ...WEB_LIMIT_DEFAULTS, maxBodyBytes: 2 * 1024 * 1024, headersTimeoutSeconds: 5, maxPcapStreamsPerUser: 2, sessionHours: 1 });
  writeFileSync(file, JSON.stringify({ web: { maxBodySize: 1 } }));
  expect(() => readConfigFile(file)).toThrow(/\/web must NOT have additional properties 'maxBodySize'/);
  expect(() => parseCli(['--max-body', 'lots'], {})).toThrow('--max-body "lots": expected at least 1KiB, as a number of bytes, or a number with a unit');
});

/** A self-signed certificate for 127.0.0.1, made by openssl req. */
function selfSigned(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { cert, key };
}

/** A request over HTTPS trusting only `ca`. */
function httpsCall(url: string, ca: Buffer, method = 'GET', headers: Record<string, string> = {}, body?: string): Promise<{ status: number; body: string; type: string; cookie?: string }> {
  return new Promise((resolve, reject) => {
    httpsRequest(url, { ca, method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: text, type: String(res.headers['content-type']), cookie: res.headers['set-cookie']?.[0] }));
    }).on('error', reject).end(body);
  });
}
const httpsGet = (url: string, ca: Buffer) => httpsCall(url, ca);

it('serves the pages and the API over HTTPS with --https-cert and --https-key', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fb-tls-'));
  const { cert, key } = selfSigned(dir);
  const fb = await startWithFlags(['-i', 'tcp://127.0.0.1:16583c', '--https-cert', cert, '--https-key', key, '--api-token', 'https-test-token']);
  try {
    expect(fb.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = readFileSync(cert);
    const status = await httpsGet(`${fb.url}/api/v1/status`, ca);
    expect(status.status).toBe(200);
    expect(JSON.parse(status.body)).toMatchObject({ interfaces: [{ name: 'tcp://127.0.0.1:16583c' }] });
    const page = await httpsGet(`${fb.url}/`, ca);
    expect(page.status).toBe(200);
    expect(page.type).toMatch(/^text\/html/);
    // Signed in over HTTPS, the session cookie is marked Secure: a browser never sends it over plain HTTP.
    const login = await httpsCall(`${fb.url}/login`, ca, 'POST', { origin: fb.url, 'content-type': 'application/x-www-form-urlencoded' }, new URLSearchParams({ token: 'https-test-token', next: '/' }).toString());
    expect(login.status).toBe(303);
    expect(login.cookie).toMatch(/^flowbridge_session=fbs_[^;]+;.*; Secure/);
    // A client that does not trust the certificate is refused by TLS itself.
    await expect(httpsGet(`${fb.url}/healthz`, Buffer.from(''))).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
    // Plain HTTP on the HTTPS port gets no page.
    await expect(fetch(`${fb.url.replace('https:', 'http:')}/healthz`)).rejects.toThrow();
  } finally {
    await fb.stop();
  }
});

it('refuses a certificate without its key, a key without its certificate, and a file it cannot read', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fb-tls-'));
  const { cert, key } = selfSigned(dir);
  const resolveFlags = (argv: string[]) => resolveConfig({}, parseCli(argv, {}).flags);
  expect(() => resolveFlags(['--https-cert', cert])).toThrow('--https-cert needs --https-key too: HTTPS takes a certificate and its private key (PEM files), or neither for plain HTTP');
  expect(() => resolveFlags(['--https-key', key])).toThrow('--https-key needs --https-cert too');
  expect(() => resolveFlags(['--https-cert', cert, '--https-key', join(dir, 'missing.pem')])).toThrow(`--https-key ${join(dir, 'missing.pem')} cannot be read (ENOENT): give a PEM file flowbridge may read`);
  expect(resolveFlags(['--https-cert', cert, '--https-key', key]).https).toEqual({ cert, key });
});

it('refuses a file that is not a certificate, or a key that is not the certificate\'s, before anything starts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fb-tls-'));
  const { cert, key } = selfSigned(dir);
  const other = selfSigned(mkdtempSync(join(tmpdir(), 'fb-tls-')));
  const notCert = join(dir, 'not-a-cert.pem');
  writeFileSync(notCert, 'hello\n');
  const resolveFlags = (argv: string[]) => resolveConfig({}, parseCli(argv, {}).flags);
  expect(() => resolveFlags(['--https-cert', notCert, '--https-key', key])).toThrow(`--https-cert ${notCert} and --https-key ${key} are not a PEM certificate and its private key`);
  expect(() => resolveFlags(['--https-cert', cert, '--https-key', other.key])).toThrow(`--https-cert ${cert} and --https-key ${other.key} are not a PEM certificate and its private key`);
});
