// REST API v1: interfaces (read, change mirrored/companion), their flows, a ZMQ
// interface's host interfaces and listening ports, the exporters view and status. Bad input gets 400 with what was wrong and what is
// accepted; unknown things get 404; a refused change changes nothing.
import { Hono } from 'hono';
import { canonicalIp } from '../model/address.ts';
import type { FlowQuery, FlowSort } from '../model/flow.ts';
import { SettingsError, type SettingsChange } from '../dispatch/companions.ts';
import type { MonitoredInterface } from '../interfaces/interface.ts';
import type { ApiContext } from './context.ts';
import { interfaceView, interfaceViews } from './interface-view.ts';

export class BadRequest extends Error {}

const SORTS: FlowSort[] = ['bytes', 'packets', 'lastSeen', 'firstSeen'];
const MAX_LIMIT = 10_000;

/** Reads and checks the flows query string; throws BadRequest saying what is accepted. */
export function parseFlowQuery(params: Record<string, string | undefined>): FlowQuery {
  const known = new Set(['host', 'port', 'process', 'communityId', 'limit', 'sort']);
  for (const k of Object.keys(params)) if (!known.has(k)) throw new BadRequest(`unknown parameter ${k} (accepted: host, port, process, communityId, limit, sort)`);
  const q: FlowQuery = {};
  if (params.host !== undefined && params.host !== '') {
    const ip = canonicalIp(params.host);
    if (!ip) throw new BadRequest(`host ${JSON.stringify(params.host)} is not an IP address`);
    q.host = ip;
  }
  if (params.port !== undefined && params.port !== '') {
    if (!/^\d{1,5}$/.test(params.port) || Number(params.port) > 65535) throw new BadRequest(`port ${JSON.stringify(params.port)} is not a port number (0-65535)`);
    q.port = Number(params.port);
  }
  if (params.process !== undefined && params.process !== '') q.process = params.process;
  if (params.communityId !== undefined && params.communityId !== '') {
    if (!/^1:[A-Za-z0-9+/]{27}=$/.test(params.communityId)) throw new BadRequest(`communityId ${JSON.stringify(params.communityId)} is not a Community ID v1 (1: and 28 base64 characters)`);
    q.communityId = params.communityId;
  }
  if (params.limit !== undefined) {
    if (!/^\d+$/.test(params.limit) || Number(params.limit) < 1 || Number(params.limit) > MAX_LIMIT) {
      throw new BadRequest(`limit ${JSON.stringify(params.limit)} must be a whole number from 1 to ${MAX_LIMIT}`);
    }
    q.limit = Number(params.limit);
  }
  if (params.sort !== undefined) {
    if (!SORTS.includes(params.sort as FlowSort)) throw new BadRequest(`sort ${JSON.stringify(params.sort)} is not one of ${SORTS.join(', ')}`);
    q.sort = params.sort as FlowSort;
  }
  return q;
}

/** Checks a PATCH body: only `mirrored` (boolean) and `companion` (name or null). */
export function parseSettingsChange(body: unknown): SettingsChange {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new BadRequest('the body must be a JSON object: { "mirrored"?: boolean, "companion"?: name | null }');
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) if (k !== 'mirrored' && k !== 'companion') throw new BadRequest(`unknown field ${k} (accepted: mirrored, companion)`);
  if (b.mirrored !== undefined && typeof b.mirrored !== 'boolean') throw new BadRequest('mirrored must be true or false');
  if (b.companion !== undefined && b.companion !== null && typeof b.companion !== 'string') throw new BadRequest('companion must be an interface name or null');
  if (b.mirrored === undefined && b.companion === undefined) throw new BadRequest('nothing to change: give mirrored and/or companion');
  return b as SettingsChange;
}

export function restApi(ctx: ApiContext): Hono {
  const api = new Hono();
  const find = (ref: string) => {
    const iface = ctx.registry.resolve(ref);
    if (!iface) throw new SettingsError(`no interface ${JSON.stringify(ref)}: use a numeric id or a name from GET /api/v1/interfaces`, 404);
    return iface;
  };

  /** A ZMQ interface's bounded tables, or 400 naming why a packet interface has none. */
  const zmqTables = (iface: MonitoredInterface, what: string) => {
    if (iface.kind !== 'zmq') throw new BadRequest(`${iface.name} is a packet interface: ${what} come from the exporters of a ZMQ interface (${ctx.registry.zmqInterfaces().map((z) => z.name).join(', ') || 'none'})`);
    return ctx.telemetry.interfaces().find((t) => t.id === iface.id)!.tables;
  };

  api.get('/interfaces', (c) => c.json({ interfaces: interfaceViews(ctx) }));
  api.get('/interfaces/:id', (c) => c.json(interfaceView(ctx, find(c.req.param('id')))));
  api.patch('/interfaces/:id', async (c) => {
    const iface = find(c.req.param('id'));
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      throw new BadRequest('the body is not valid JSON: send { "mirrored"?: boolean, "companion"?: name | null }');
    }
    const { notes } = ctx.companions.change(iface.id, parseSettingsChange(body));
    return c.json({ ...interfaceView(ctx, iface), notes });
  });
  api.get('/interfaces/:id/flows', (c) => {
    const iface = find(c.req.param('id'));
    return c.json(iface.flows.query(parseFlowQuery(c.req.query())));
  });
  api.get('/interfaces/:id/host-interfaces', (c) => {
    const iface = find(c.req.param('id'));
    // A ZMQ interface: every exporter host's interfaces; a packet interface: the hosts' interfaces of its name (dispatch rule 5).
    const { tables } = ctx.telemetry.interfaces().find((t) => t.id === iface.id)!;
    return c.json({ hostInterfaces: ctx.telemetry.hostInterfaces(iface.id) ?? [], table: tables['host-interfaces'] });
  });
  api.get('/interfaces/:id/listening-ports', (c) => {
    const iface = find(c.req.param('id'));
    const tables = zmqTables(iface, 'listening ports');
    return c.json({ hosts: ctx.telemetry.listeningPorts(iface.id), tables: { hosts: tables['listening-port-hosts'], portsPerHost: tables['listening-ports-per-host'] } });
  });
  api.get('/exporters', (c) => {
    const zmqs = ctx.telemetry.interfaces().flatMap((t) => (t.collector ? [{ t, s: t.collector }] : []));
    return c.json({
      exporters: zmqs.flatMap(({ t, s }) => s.exporters.map((e) => ({ ...e, interface: t.name }))),
      interfaces: zmqs.map(({ t, s }) => ({
        id: t.id, name: t.name, messages: s.messages, events: s.events, rejected: s.rejected, rejectedByTopic: s.rejectedByTopic, lostMessages: s.lostMessages, bounds: s.bounds,
      })),
      samples: zmqs.flatMap(({ s }) => s.samples).sort((a, b) => b.at - a.at),
    });
  });
  api.get('/status', (c) => {
    const { startedAt } = ctx.telemetry;
    return c.json({
      version: ctx.version,
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      startedAt: new Date(startedAt).toISOString(),
      interfaces: ctx.telemetry.interfaces().map((t) => ({ id: t.id, name: t.name, kind: t.kind, status: t.status })),
      curvePublicKey: ctx.curvePublicKey ?? null,
      problems: ctx.telemetry.problems(),
      // Scale-out through NATS (--nats): connection, buffer, rates, consumers' lag.
      ...(ctx.telemetry.scaleout ? { scaleout: ctx.telemetry.scaleout() } : {}),
    });
  });
  return api;
}
