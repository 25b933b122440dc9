// Which end of a connection is the server when nothing else says so: no TCP event
// type, no SYN or SYN+ACK, no LISTEN state. The collector uses it for netstat and
// UDP events, the flow table for flows built from packets alone; one rule, so an
// event and the packets of the same connection never disagree about who served.
//
// The rule, by port only:
// - one port well-known (<1024), the other not: the well-known one is the server
//   (DNS 53 facing an ephemeral port, SSH 22 facing 51000);
// - both well-known and different: the lower one is the server. Clients that bind
//   privileged source ports take them from the top of the range down (rsh, rlogin
//   and NFS clients, bindresvport: 1023, 1022, ...), facing services far below
//   (sunrpc 111, rlogin 513, rsh 514), and a `netstat` user reads 22 <-> 1023 as
//   "connected to 22";
// - neither well-known, or the same port on both ends (NTP 123 <-> 123): the ports
//   do not say; the caller's next rule decides (the first sender, or for a TCP
//   snapshot the lower port).

/** Ports below this are well-known (IANA system ports). */
export const WELL_KNOWN_PORTS_BELOW = 1024;

/** The server end ('a' or 'b') by the well-known port rule, or undefined when the ports do not say. */
export function serverByWellKnownPort(aPort: number, bPort: number): 'a' | 'b' | undefined {
  if (aPort === bPort || Math.min(aPort, bPort) >= WELL_KNOWN_PORTS_BELOW) return undefined;
  return aPort < bPort ? 'a' : 'b';
}
