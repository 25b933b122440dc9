// What each route needs and, for changes, the action name its audit line carries: one
// table, read by the one check (access.ts) and the audit trail (audit-trail.ts). A
// route not listed needs the viewer role to read and the operator role to change.
import type { Need } from '../model/access.ts';
import { carriesPackets } from './packet-access.ts';

export interface RouteRule {
  method: string;
  path: RegExp;
  need: Need | 'public';
  /** The audit action; changes are audited, and refusals of any listed route. */
  action?: string;
}

const seg = '([^/]+)';
const rule = (method: string, path: string, need: RouteRule['need'], action?: string): RouteRule => ({ method, path: new RegExp(`^${path.replaceAll(':x', seg)}$`), need, action });
const viewer: Need = { role: 'viewer' };
const operator: Need = { role: 'operator' };
const admin: Need = { role: 'admin' };

export const RULES: RouteRule[] = [
  rule('GET', '/healthz', 'public'),
  rule('GET', '/login', 'public'),
  rule('POST', '/login', 'public'),
  rule('POST', '/logout', 'public'),
  // Users, tokens and the audit log: admins.
  rule('GET', '/api/v1/users', admin),
  rule('POST', '/api/v1/users', admin, 'user.create'),
  rule('GET', '/api/v1/users/:x', admin),
  rule('PATCH', '/api/v1/users/:x', admin, 'user.update'),
  rule('DELETE', '/api/v1/users/:x', admin, 'user.delete'),
  rule('POST', '/api/v1/users/:x/tokens', admin, 'token.create'),
  rule('DELETE', '/api/v1/users/:x/tokens/:x', admin, 'token.revoke'),
  rule('GET', '/api/v1/audit', admin),
  rule('GET', '/users', admin),
  rule('POST', '/users', admin, 'user.create'),
  rule('POST', '/users/:x/edit', admin, 'user.update'),
  rule('POST', '/users/:x/delete', admin, 'user.delete'),
  rule('POST', '/users/:x/tokens', admin, 'token.create'),
  rule('POST', '/users/:x/tokens/:x/revoke', admin, 'token.revoke'),
  // Settings: operators.
  rule('PATCH', '/api/v1/interfaces/:x', operator, 'interface.change'),
  rule('POST', '/interfaces/:x/settings', operator, 'interface.change'),
  rule('PATCH', '/api/v1/interfaces/:x/recording', operator, 'recording.change'),
  rule('POST', '/interfaces/:x/recording', operator, 'recording.change'),
  rule('POST', '/api/v1/extractions', operator, 'extraction.create'),
  rule('POST', '/api/v1/extractions/:x/stop', operator, 'extraction.stop'),
  rule('DELETE', '/api/v1/extractions/:x', operator, 'extraction.delete'),
  rule('POST', '/extractions/:x/stop', operator, 'extraction.stop'),
  rule('POST', '/extractions/:x/delete', operator, 'extraction.delete'),
  rule('POST', '/api/v1/push-targets', operator, 'push-target.create'),
  rule('PATCH', '/api/v1/push-targets/:x', operator, 'push-target.change'),
  rule('DELETE', '/api/v1/push-targets/:x', operator, 'push-target.delete'),
  rule('POST', '/api/v1/push-targets/:x/offline', operator, 'push-target.offline'),
  rule('POST', '/push', operator, 'push-target.create'),
  rule('POST', '/push/:x/edit', operator, 'push-target.change'),
  rule('POST', '/push/:x/delete', operator, 'push-target.delete'),
  // Alerts are data, not settings: operators send them, unaudited (one line per alert would drown the log).
  rule('POST', '/api/v1/alerts', operator),
  // On-demand capture (seed 003): the capture permission starts, stops and deletes; pcap downloads.
  rule('POST', '/api/v1/interfaces/:x/capture/start', { permission: 'capture' }, 'capture.start'),
  rule('POST', '/api/v1/interfaces/:x/capture/stop', { permission: 'capture' }, 'capture.stop'),
  rule('DELETE', '/api/v1/captures/:x', { permission: 'capture' }, 'capture.delete'),
  // Its pages (capture-pages.tsx): the Traffic capture dialog's Start and Stop, the Captures page's Delete and Download.
  rule('GET', '/captures', viewer),
  rule('POST', '/interfaces/:x/capture/start', { permission: 'capture' }, 'capture.start'),
  rule('POST', '/interfaces/:x/capture/stop', { permission: 'capture' }, 'capture.stop'),
  rule('POST', '/captures/:x/delete', { permission: 'capture' }, 'capture.delete'),
  rule('GET', '/captures/:x/download', { permission: 'pcap' }, 'pcap.download'),
];

/** A GET of a route that returns packets: the pcap permission, audited. */
const PACKETS: RouteRule = { method: 'GET', path: /^/, need: { permission: 'pcap' }, action: 'pcap.download' };

/** The rule of a request, and the first path parameter(s) as the audit's target. */
export function ruleOf(method: string, path: string): { rule: RouteRule; target?: string } {
  const m = method === 'HEAD' ? 'GET' : method;
  if (m === 'GET' && carriesPackets(path)) return { rule: PACKETS, target: path };
  for (const r of RULES) {
    if (r.method !== m) continue;
    const match = r.path.exec(path);
    if (match) return { rule: r, target: match.length > 1 ? match.slice(1).map(decode).join('/') : undefined };
  }
  const read = m === 'GET' || m === 'OPTIONS';
  return { rule: { method: m, path: /^/, need: read ? viewer : operator, action: read ? undefined : `${m} ${path}` }, target: read ? undefined : path };
}

const decode = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};
