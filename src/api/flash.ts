// What a page form says after it redirects ("Saved.", or why not): kept here under a
// random id for a minute and shown once by the page the browser lands on. The URL
// carries only the id, so a crafted link cannot make a page show text of its choosing.
import { randomBytes } from 'node:crypto';
import type { Context } from 'hono';

export type FlashKind = 'note' | 'error';
export interface FlashMessage {
  kind: FlashKind;
  text: string;
}

const MAX_MESSAGES = 256;
const TTL_MS = 60_000;
const messages = new Map<string, FlashMessage & { at: number }>();

/** Redirects (303) to `path` with a message for the page found there. */
export function redirectWith(c: Context, path: string, kind: FlashKind, text: string, fragment = ''): Response {
  const id = randomBytes(8).toString('hex');
  messages.set(id, { kind, text, at: Date.now() });
  // Bounded: the oldest go first.
  for (const key of messages.keys()) {
    if (messages.size <= MAX_MESSAGES) break;
    messages.delete(key);
  }
  return c.redirect(`${path}${path.includes('?') ? '&' : '?'}flash=${id}${fragment}`, 303);
}

/** The message a redirect left for this page, once; nothing for an unknown or expired id. */
export function flashOf(c: Context): { note?: string; error?: string } {
  const id = c.req.query('flash');
  const m = id === undefined ? undefined : messages.get(id);
  if (!m) return {};
  messages.delete(id!);
  return Date.now() - m.at > TTL_MS ? {} : { [m.kind]: m.text };
}
