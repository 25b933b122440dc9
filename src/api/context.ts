// What the REST API, the web pages and the Prometheus exporter read and change.
// src/flowbridge.ts builds one from the running pipeline; tests build one from real parts.
import type { CompanionSettings } from '../dispatch/companions.ts';
import type { Dispatcher } from '../dispatch/dispatcher.ts';
import type { InterfaceRegistry } from '../interfaces/registry.ts';

export interface ApiAuth {
  /** When set, mutating calls need `Authorization: Bearer <token>`. */
  token?: string;
  /** With a token: reads need it too. */
  protectReads: boolean;
}

export interface ApiContext {
  version: string;
  /** Epoch milliseconds. */
  startedAt: number;
  registry: InterfaceRegistry;
  companions: CompanionSettings;
  dispatcher: Dispatcher;
  auth: ApiAuth;
  /** The collector's CURVE public key (Z85) when encryption is on. */
  curvePublicKey?: string;
  /** Bound of the per-process metric series (top N processes, the rest as `other`). */
  topProcesses: number;
  /** Problems an operator should see now: interfaces that failed to start, inactive companions, ... */
  problems(): string[];
}
