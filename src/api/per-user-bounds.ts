// What one caller may hold at once: packet downloads streaming (every GET the route
// table marks pcap.download) and extraction jobs queued or running. A caller is the
// principal's name (a user, `token` for the API token, `anonymous`). Past a bound the
// answer is 429 naming the bound and the flag that sets it, counted on /metrics.
import type { Context, MiddlewareHandler } from 'hono';
import type { WebLimits } from '../model/web.ts';
import { ruleOf } from './access-rules.ts';
import type { WebCounters } from './web-counters.ts';

const who = (c: Context): string => c.get('principal')?.name ?? 'anonymous';
const callerText = (name: string) => (name === 'token' ? 'the API token' : name === 'anonymous' ? 'an anonymous caller' : `user ${name}`);

/** `body` as it goes out, calling `done` once when it ends, fails, or the client goes away. */
function untilDone(body: ReadableStream<Uint8Array>, done: () => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const r = await reader.read();
        if (r.done) {
          done();
          controller.close();
        } else controller.enqueue(r.value);
      } catch (err) {
        done();
        controller.error(err);
      }
    },
    cancel(reason) {
      done();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/** The middleware bounding packet downloads per caller (after the access check, which sets the principal). */
export function pcapStreamBound(limits: Pick<WebLimits, 'maxPcapStreamsPerUser'>, counters: WebCounters): MiddlewareHandler {
  const open = new Map<string, number>();
  return async (c, next) => {
    if ((c.req.method !== 'GET' && c.req.method !== 'HEAD') || ruleOf(c.req.method, c.req.path).rule.action !== 'pcap.download') return next();
    const name = who(c);
    const max = limits.maxPcapStreamsPerUser;
    const now = open.get(name) ?? 0;
    if (now >= max) {
      counters.refused['pcap-streams-per-user']++;
      return c.json({ error: `${callerText(name)} already streams ${now} packet download${now === 1 ? '' : 's'}, the most one caller may at once (--max-pcap-streams-per-user ${max}): try again when one has finished`, bound: max }, 429, { 'retry-after': '1' });
    }
    open.set(name, now + 1);
    counters.pcapStreams++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const left = (open.get(name) ?? 1) - 1;
      if (left > 0) open.set(name, left);
      else open.delete(name);
      counters.pcapStreams--;
    };
    try {
      await next();
    } finally {
      const res = c.res;
      if (!res.body || res.status >= 400) release();
      else if (!released) c.res = new Response(untilDone(res.body, release), res);
    }
  };
}

/** Extraction jobs by the caller that asked for them; a job counts while queued or running. */
export class ExtractionOwners {
  readonly #owner = new Map<string, string>();

  constructor(private readonly limits: Pick<WebLimits, 'maxExtractionsPerUser'>, private readonly counters: WebCounters) {}

  /** Throws (429) when `name` already has the most jobs in progress; `inProgress(id)` says whether a job still counts. */
  check(name: string, inProgress: (id: string) => boolean): void {
    let mine = 0;
    for (const [id, owner] of this.#owner) {
      if (!inProgress(id)) this.#owner.delete(id);
      else if (owner === name) mine++;
    }
    const max = this.limits.maxExtractionsPerUser;
    if (mine >= max) {
      this.counters.refused['extractions-per-user']++;
      throw new PerUserBound(`${callerText(name)} already has ${mine} extraction job${mine === 1 ? '' : 's'} queued or running, the most one caller may (--max-extractions-per-user ${max}): stop one or wait for it to finish`, max);
    }
  }

  add(id: string, name: string): void {
    this.#owner.set(id, name);
  }

  static callerOf = who;
}

/** A per-caller bound refused a request (429). */
export class PerUserBound extends Error {
  constructor(message: string, readonly bound: number) {
    super(message);
  }
}
