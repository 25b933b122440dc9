// Request bodies over real HTTP against a running collector: a 300 MB body, sent with a
// Content-Length and sent chunked, is answered 413 without being read whole (the
// collector's resident memory grows by less than 50 MB) and changes nothing; a body
// under the bound is taken.
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startWithFlags } from '../support/flowbridge.ts';

let fb: Awaited<ReturnType<typeof startWithFlags>>;

beforeAll(async () => {
  fb = await startWithFlags(['-i', 'tcp://127.0.0.1:16581c', '-i', 'fbnosuch81']);
});
afterAll(async () => {
  await fb?.stop();
});

/** VmRSS of this process, which runs the collector (bytes). */
const rss = (): number => Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${process.pid}/status`, 'utf8'))![1]) * 1024;

const MB = 1_000_000;

/**
 * PATCHes a JSON body of `total` bytes (`{"mirrored":true}` and spaces: valid JSON) as a
 * stream, with a Content-Length or chunked, and stops sending once the answer arrives.
 */
function sendLarge(path: string, total: number, chunked: boolean): Promise<{ status: number; body: string; sent: number; peakRss: number }> {
  return new Promise((resolve, reject) => {
    const head = Buffer.from('{"mirrored":true}');
    const spaces = Buffer.alloc(1024 * 1024, 0x20);
    const req = request(`${fb.url}${path}`, { method: 'PATCH', headers: { 'content-type': 'application/json', ...(chunked ? {} : { 'content-length': String(total) }) } });
    let sent = 0;
    let answered = false;
    let peakRss = rss();
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, rss())), 20);
    const pump = () => {
      while (!answered && sent < total) {
        const piece = sent === 0 ? head : spaces.subarray(0, Math.min(spaces.length, total - sent));
        sent += piece.length;
        if (!req.write(piece)) return void req.once('drain', pump);
      }
      if (!answered) req.end();
    };
    req.on('response', (res) => {
      answered = true;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        clearInterval(sampler);
        peakRss = Math.max(peakRss, rss());
        req.destroy();
        resolve({ status: res.statusCode!, body, sent, peakRss });
      });
    });
    req.on('error', (err) => {
      if (!answered) {
        clearInterval(sampler);
        reject(err);
      }
    });
    pump();
  });
}

const mirrored = async () => ((await (await fb.api('/api/v1/interfaces/1')).json()) as { mirrored: boolean }).mirrored;

for (const chunked of [false, true]) {
  it(`answers a 300 MB body sent ${chunked ? 'chunked' : 'with its Content-Length'} with 413, reads little of it, and changes nothing`, async () => {
    const before = rss();
    const r = await sendLarge('/api/v1/interfaces/1', 300 * MB, chunked);
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body)).toEqual({
      error: 'the request body is larger than 1 MiB, the most PATCH /api/v1/interfaces/1 takes (uploads to POST /api/v1/alerts and POST /api/v1/conditional-pcap/upload take 16 MiB)',
      limit: 1024 * 1024,
    });
    expect(r.sent).toBeLessThan(300 * MB);
    expect(r.peakRss - before).toBeLessThan(50 * MB);
    expect(await mirrored()).toBe(false);
  });
}

it('takes a body under the bound, and counts the refusals on /metrics', async () => {
  const r = await sendLarge('/api/v1/interfaces/1', 1024 * 1024 - 10, true);
  expect(r.status).toBe(200);
  expect(await mirrored()).toBe(true);
  const metrics = await (await fb.api('/metrics')).text();
  expect(metrics).toContain('flowbridge_http_refused_total{reason="body-too-large"} 2');
});
