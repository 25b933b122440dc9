// Request bodies are bounded before anything reads them: a Content-Length over the
// bound is answered 413 without reading a byte, a chunked body is read only up to the
// bound (hono's bodyLimit keeps at most that much) and answered 413 once past it; the
// connection is then closed rather than drained. The routes that take uploads (alerts,
// the conditional pcap upload) have a larger bound of their own.
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { WebLimits } from '../model/web.ts';
import type { WebCounters } from './web-counters.ts';

const UPLOADS: { method: string; path: RegExp; label: string }[] = [
  { method: 'POST', path: /^\/api\/v1\/alerts\/?$/, label: 'POST /api/v1/alerts' },
  { method: 'POST', path: /^\/api\/v1\/conditional-pcap\/upload\/?$/, label: 'POST /api/v1/conditional-pcap/upload' },
];

/** Bytes as a person reads them: 1 MiB, 16 MiB, 512 KiB, 100 bytes. */
export function bytesText(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

/** The bound of a request's body. */
export const bodyBound = (limits: Pick<WebLimits, 'maxBodyBytes' | 'maxUploadBytes'>, method: string, path: string): number =>
  (UPLOADS.some((u) => u.method === method && u.path.test(path)) ? Math.max(limits.maxUploadBytes, limits.maxBodyBytes) : limits.maxBodyBytes);

export function bodyLimits(limits: Pick<WebLimits, 'maxBodyBytes' | 'maxUploadBytes'>, counters: WebCounters): MiddlewareHandler {
  const bySize = new Map<number, MiddlewareHandler>();
  const limiter = (maxSize: number) => {
    let m = bySize.get(maxSize);
    if (!m) {
      m = bodyLimit({
        maxSize,
        onError: (c) => {
          counters.refused['body-too-large']++;
          const uploads = maxSize === limits.maxBodyBytes && limits.maxUploadBytes > limits.maxBodyBytes ? ` (uploads to ${UPLOADS.map((u) => u.label).join(' and ')} take ${bytesText(limits.maxUploadBytes)})` : '';
          return c.json({ error: `the request body is larger than ${bytesText(maxSize)}, the most ${c.req.method} ${c.req.path} takes${uploads}`, limit: maxSize }, 413, { connection: 'close' });
        },
      });
      bySize.set(maxSize, m);
    }
    return m;
  };
  return (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    return limiter(bodyBound(limits, c.req.method, c.req.path))(c, next);
  };
}
