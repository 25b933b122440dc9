// Paced UDP on lo from bench/udpgen.c, and waiting for a count to settle: what the
// capture and recording benchmarks both do around the thing they measure.
import { lastJson, run } from './children.ts';

export interface UdpOffer {
  dstPort: number;
  /** First source port; `flows` ports from there. */
  srcPort: number;
  flows: number;
  seconds: number;
  payload: number;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The BPF of an offer's packets. */
export const offerFilter = (o: UdpOffer) => `udp and dst port ${o.dstPort} and src portrange ${o.srcPort}-${o.srcPort + o.flows - 1}`;

/** Sends at `pps` packets per second (0: as fast as it can) for `o.seconds`; says what was sent. */
export async function offerUdp(udpgen: string, o: UdpOffer, pps: number): Promise<{ sent: number; seconds: number }> {
  const out = await run(udpgen, [o.dstPort, o.srcPort, o.flows, pps, o.seconds, o.payload].map(String), (o.seconds + 10) * 1000);
  return lastJson(out);
}

/** Waits until `read` has returned the same value for `quietMs` (at most 10 s); returns it. */
export async function settled(read: () => number, quietMs: number): Promise<number> {
  let last = read();
  let since = performance.now();
  const deadline = since + 10_000;
  while (performance.now() - since < quietMs && performance.now() < deadline) {
    await sleep(50);
    const next = read();
    if (next !== last) since = performance.now();
    last = next;
  }
  return last;
}
