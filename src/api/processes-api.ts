// REST API v1 for processes across interfaces and the traffic history:
//   GET /api/v1/processes?interface=&host=&user=&container=&sort=&limit=
//   GET /api/v1/processes/:key
//   GET /api/v1/interfaces/:id/timeseries?metric=&resolution=&process=
// Bad input gets 400 naming what is accepted; unknown things get 404.
import { Hono } from 'hono';
import { SettingsError } from '../dispatch/companions.ts';
import { canonicalIp } from '../model/address.ts';
import { PROCESS_SORTS, type ProcessQuery, type ProcessSort } from '../views/process-summary.ts';
import { METRICS, PROCESS_METRICS, RESOLUTIONS, type HistoryMetric, type Resolution } from '../views/traffic-history.ts';
import type { ApiContext } from './context.ts';
import { BadRequest } from './rest.ts';

const MAX_PROCESS_FLOWS = 1_000;

function unknownParams(params: Record<string, string | undefined>, known: string[]): void {
  for (const k of Object.keys(params)) if (!known.includes(k)) throw new BadRequest(`unknown parameter ${k} (accepted: ${known.join(', ')})`);
}

/** Reads and checks the processes query; throws BadRequest saying what is accepted. */
export function parseProcessQuery(ctx: ApiContext, params: Record<string, string | undefined>): ProcessQuery {
  unknownParams(params, ['interface', 'host', 'user', 'container', 'sort', 'limit']);
  const q: ProcessQuery = {};
  if (params.interface) {
    q.interfaces = params.interface.split(',').map((ref) => {
      const iface = ctx.registry.resolve(ref);
      if (!iface) throw new BadRequest(`interface ${JSON.stringify(ref)} is not an interface id or name (${ctx.registry.list().map((i) => `${i.id} ${i.name}`).join(', ')})`);
      return iface.id;
    });
  }
  if (params.host) {
    const ip = canonicalIp(params.host);
    if (!ip) throw new BadRequest(`host ${JSON.stringify(params.host)} is not an IP address`);
    q.host = ip;
  }
  if (params.user) q.user = params.user;
  if (params.container) q.container = params.container;
  if (params.sort !== undefined && params.sort !== '') {
    if (!PROCESS_SORTS.includes(params.sort as ProcessSort)) throw new BadRequest(`sort ${JSON.stringify(params.sort)} is not one of ${PROCESS_SORTS.join(', ')}`);
    q.sort = params.sort as ProcessSort;
  }
  if (params.limit !== undefined && params.limit !== '') {
    if (!/^\d+$/.test(params.limit) || Number(params.limit) < 1) throw new BadRequest(`limit ${JSON.stringify(params.limit)} must be a whole number from 1 (at most the top-processes bound is shown)`);
    q.limit = Number(params.limit);
  }
  return q;
}

export interface TimeseriesQuery {
  metric: HistoryMetric;
  resolution: Resolution;
  process?: string;
}

export function parseTimeseriesQuery(params: Record<string, string | undefined>): TimeseriesQuery {
  unknownParams(params, ['metric', 'resolution', 'process']);
  const metric = (params.metric || 'bytes') as HistoryMetric;
  if (!METRICS.includes(metric)) throw new BadRequest(`metric ${JSON.stringify(params.metric)} is not one of ${METRICS.join(', ')}`);
  const resolution = (params.resolution || '1s') as Resolution;
  if (!(resolution in RESOLUTIONS)) throw new BadRequest(`resolution ${JSON.stringify(params.resolution)} is not one of ${Object.keys(RESOLUTIONS).join(', ')}`);
  const q: TimeseriesQuery = { metric, resolution };
  if (params.process) {
    if (!PROCESS_METRICS.includes(metric)) throw new BadRequest(`a process has the metrics ${PROCESS_METRICS.join(', ')} only (not ${metric})`);
    q.process = params.process;
  }
  return q;
}

/** The series an interface's timeseries route returns (also read by the dashboard page). */
export function timeseriesOf(ctx: ApiContext, interfaceId: number, q: TimeseriesQuery, nowMs = Date.now()) {
  const history = ctx.telemetry.history;
  if (!history) throw new SettingsError('the traffic history is not part of this pipeline', 404);
  const points = history.points(interfaceId, q.metric, q.resolution, nowMs, q.process);
  if (!points && q.process !== undefined) {
    throw new SettingsError(`no series for process ${JSON.stringify(q.process)} on this interface: processes with one are ${history.processes(interfaceId).join(', ') || 'none yet'} (the top processes by bytes)`, 404);
  }
  const { stepMs } = RESOLUTIONS[q.resolution];
  return { interfaceId, metric: q.metric, resolution: q.resolution, stepMs, ...(q.process !== undefined ? { process: q.process } : {}), points: points ?? [], processes: history.processes(interfaceId), bound: history.stats() };
}

export function processesApi(ctx: ApiContext): Hono {
  const api = new Hono();
  const needViews = () => {
    const { processes, process } = ctx.telemetry;
    if (!processes || !process) throw new SettingsError('process views are not part of this pipeline', 404);
    return { processes, process };
  };
  api.get('/processes', (c) => c.json(needViews().processes(parseProcessQuery(ctx, c.req.query()))));
  api.get('/processes/:key', (c) => {
    const params = c.req.query();
    unknownParams(params, ['limit']);
    let limit = 100;
    if (params.limit !== undefined) {
      if (!/^\d+$/.test(params.limit) || Number(params.limit) < 1 || Number(params.limit) > MAX_PROCESS_FLOWS) throw new BadRequest(`limit ${JSON.stringify(params.limit)} must be a whole number from 1 to ${MAX_PROCESS_FLOWS}`);
      limit = Number(params.limit);
    }
    const detail = needViews().process(c.req.param('key'), limit);
    if (!detail) throw new SettingsError(`no process ${JSON.stringify(c.req.param('key'))} in the flow tables now: keys come from GET /api/v1/processes`, 404);
    return c.json(detail);
  });
  api.get('/interfaces/:id/timeseries', (c) => {
    const iface = ctx.registry.resolve(c.req.param('id'));
    if (!iface) throw new SettingsError(`no interface ${JSON.stringify(c.req.param('id'))}: use a numeric id or a name from GET /api/v1/interfaces`, 404);
    return c.json(timeseriesOf(ctx, iface.id, parseTimeseriesQuery(c.req.query())));
  });
  return api;
}
