// REST for flowbridge's own alert rules: read them, replace them (checked first: a
// refused list changes nothing), saved in the data directory.
import { Hono } from 'hono';
import { alertRule, RuleError, type AlertRules } from '../alerts/rules.ts';
import { BadRequest } from './rest.ts';

export function rulesErrorResponse(err: Error): { status: 400; error: string } | null {
  return err instanceof RuleError ? { status: 400, error: err.message } : null;
}

export function rulesApi(rules: AlertRules): Hono {
  const app = new Hono();
  app.get('/rules', (c) => c.json({ rules: rules.list(), ...rules.stats() }));
  app.put('/rules', async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      throw new BadRequest('the body is not valid JSON: send { "rules": [ { "signatureId", "signature", "severity"?, "match": {…}, "count"?, "windowSeconds"? } ] }');
    }
    const list = (body as { rules?: unknown })?.rules;
    if (!Array.isArray(list)) throw new BadRequest('the body must be { "rules": [ … ] }: the whole list, which replaces the rules');
    rules.set(list.map(alertRule));
    return c.json({ rules: rules.list(), ...rules.stats() });
  });
  return app;
}
