// The web side's bounds (request bodies, timeouts, per-user streams and jobs, sign-in
// throttling) and what it counts when a bound or a sign-in refuses someone: read by
// the API (src/api/) and by /metrics (src/exporters/prometheus.ts).

export interface WebLimits {
  /** Largest request body taken by a route without a larger bound of its own (bytes). */
  maxBodyBytes: number;
  /** Largest body of the routes that take uploads (POST /api/v1/alerts, the conditional pcap upload). */
  maxUploadBytes: number;
  /** A client must have sent its whole request head within this many seconds. */
  headersTimeoutSeconds: number;
  /** A client must have sent its whole request (head and body) within this many seconds. */
  requestTimeoutSeconds: number;
  /** An idle kept-alive connection is closed after this many seconds. */
  keepAliveTimeoutSeconds: number;
  /** Packet downloads one user (or the API token, or anonymous) may stream at once. */
  maxPcapStreamsPerUser: number;
  /** Extraction jobs one user may have queued or running at once. */
  maxExtractionsPerUser: number;
  /** A page session (after a password or token sign-in) ends this many hours after it began. */
  sessionHours: number;
}

export const WEB_LIMIT_DEFAULTS: WebLimits = {
  maxBodyBytes: 1024 * 1024,
  maxUploadBytes: 16 * 1024 * 1024,
  headersTimeoutSeconds: 20,
  requestTimeoutSeconds: 300,
  keepAliveTimeoutSeconds: 5,
  maxPcapStreamsPerUser: 4,
  maxExtractionsPerUser: 4,
  sessionHours: 12,
};

/** Why a request was refused by a bound before its handler ran. */
export type WebRefusal = 'body-too-large' | 'pcap-streams-per-user' | 'extractions-per-user' | 'login-throttled';
/** Why a sign-in failed. */
export type LoginFailure = 'wrong-password' | 'unknown-token' | 'no-credential' | 'no-users';

export interface WebStats {
  refused: Record<WebRefusal, number>;
  loginFailures: Record<LoginFailure, number>;
  /** Sign-ins answered 429 (too many recent failures from the address or for the user name). */
  loginThrottled: number;
  /** Packet downloads streaming now. */
  pcapStreams: number;
  sessions: { size: number; max: number; dropped: number };
  throttle: { size: number; max: number; dropped: number };
}
