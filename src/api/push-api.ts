// REST for push targets: list, create, read, change and delete them, and read a
// target's log; push a stored range of the recording through a target (offline push).
// A refused change names the target and what is accepted, and changes nothing.
import { Hono } from 'hono';
import { PushRequestError, type PushTargets } from '../push/push-targets.ts';
import { PushTargetError } from '../push/target.ts';
import { BadRequest } from './rest.ts';

/** Errors of this room as HTTP answers (null: not ours). */
export function pushErrorResponse(err: Error): { status: 400 | 404 | 409 | 429; error: string } | null {
  if (err instanceof PushRequestError) return { status: err.status, error: err.message };
  if (err instanceof PushTargetError) return { status: 400, error: err.message };
  return null;
}

export function pushApi(push: PushTargets): Hono {
  const app = new Hono();
  const body = async (c: { req: { json(): Promise<unknown> } }) => {
    try {
      return await c.req.json();
    } catch {
      throw new BadRequest('the body is not valid JSON: send { "desc", "mode": "FILE" | "RCLONE", "path", "split": "--split-time 60e9", "fileName", "filterBpf", "interface" }');
    }
  };
  app.get('/push-targets', (c) => c.json({ targets: push.list() }));
  app.post('/push-targets', async (c) => c.json(await push.create(await body(c)), 201));
  app.get('/push-targets/:desc', (c) => c.json(push.get(c.req.param('desc'))));
  app.patch('/push-targets/:desc', async (c) => c.json(await push.update(c.req.param('desc'), await body(c))));
  app.delete('/push-targets/:desc', async (c) => {
    await push.remove(c.req.param('desc'));
    return c.body(null, 204);
  });
  app.get('/push-targets/:desc/log', (c) => {
    const lines = c.req.query('lines');
    if (lines !== undefined && (!/^\d{1,5}$/.test(lines) || Number(lines) < 1)) throw new BadRequest(`lines ${JSON.stringify(lines)}: expected a whole number from 1 to 99999`);
    return c.json(push.log(c.req.param('desc'), lines === undefined ? undefined : Number(lines)));
  });
  app.post('/push-targets/:desc/offline', async (c) => {
    let range: unknown;
    try {
      range = await c.req.json();
    } catch {
      throw new PushRequestError(`push target ${c.req.param('desc')}: the body is not valid JSON: send { "begin": <epoch seconds>, "end": <epoch seconds> } (fractions allowed)`, 400);
    }
    return c.json(push.offline(c.req.param('desc'), range), 202);
  });
  app.get('/push-targets/:desc/offline', (c) => c.json(push.offlineJobs(c.req.param('desc'))));
  app.get('/push-targets/:desc/offline/:id', (c) => c.json(push.offlineJob(c.req.param('desc'), c.req.param('id'))));
  return app;
}
