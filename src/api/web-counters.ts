// What the web side counts when a bound or a sign-in refuses someone: one object per
// app, shown on /metrics (flowbridge_http_refused_total, flowbridge_login_*).
import type { LoginFailure, WebRefusal } from '../model/web.ts';

export class WebCounters {
  readonly refused: Record<WebRefusal, number> = { 'body-too-large': 0, 'pcap-streams-per-user': 0, 'extractions-per-user': 0, 'login-throttled': 0 };
  readonly loginFailures: Record<LoginFailure, number> = { 'wrong-password': 0, 'unknown-token': 0, 'no-credential': 0, 'no-users': 0 };
  /** Packet downloads streaming now. */
  pcapStreams = 0;
}
