// What the REST API and the web pages read and change. src/flowbridge.ts builds one
// from the running pipeline; tests build one from real parts.
import type { Alerts } from '../alerts/alerts.ts';
import type { AlertRules } from '../alerts/rules.ts';
import type { AlertPcaps } from '../conditional/alert-pcaps.ts';
import type { ConditionalPcap } from '../conditional/conditional-pcap.ts';
import type { CompanionSettings } from '../dispatch/companions.ts';
import type { InterfaceRegistry } from '../interfaces/registry.ts';
import type { Telemetry } from '../model/telemetry.ts';
import type { PushTargets } from '../push/push-targets.ts';
import type { Recordings } from '../recording/recordings.ts';
import type { OnDemandCaptures } from '../ondemand/ondemand-captures.ts';
import type { AuditLog } from './packet-access.ts';
import type { UserStore } from '../access/users.ts';
import type { WebLimits } from '../model/web.ts';

export interface ApiAuth {
  /** When set, mutating calls need `Authorization: Bearer <token>`. */
  token?: string;
  /** With a token: reads need it too. */
  protectReads: boolean;
}

export interface ApiContext {
  version: string;
  /** Interfaces by id or name, and their flow tables (queries). */
  registry: InterfaceRegistry;
  /** Mirrored marks and companion choices: read and changed. */
  companions: CompanionSettings;
  /** Counters, bounds and problems of the whole pipeline (shared with /metrics). */
  telemetry: Telemetry;
  auth: ApiAuth;
  /** The collector's CURVE public key (Z85) when encryption is on. */
  curvePublicKey?: string;
  /** Recording settings, extraction and jobs (absent: the routes are not served). */
  recordings?: Recordings;
  /** Push targets (absent: the routes are not served). */
  push?: PushTargets;
  /** IDS alerts and their flows (absent: the routes are not served). */
  alerts?: Alerts;
  /** flowbridge's own alert rules (absent: the routes are not served). */
  rules?: AlertRules;
  /** Conditional pcap: the stores of alerted flows, and the seed's upload/extract workflow (absent: not served). */
  conditional?: { pcap: ConditionalPcap; uploads: AlertPcaps };
  /** On-demand captures and the captures directory (absent: the routes are not served). */
  captures?: OnDemandCaptures;
  /** Where packet downloads, sign-ins and changes are written down. */
  audit?: AuditLog;
  /** Users, their tokens and page sessions (none configured: the API token or loopback rule applies). */
  users?: UserStore;
  /** Bodies, per-user streams and jobs, sessions (unset: WEB_LIMIT_DEFAULTS). */
  limits?: Partial<WebLimits>;
}
