// The direction-free identity of a flow: protocol and the two endpoints in a fixed
// order (so A→B and B→A are one flow), plus the VLAN when the packets carry one.
import type { Endpoint } from '../model/event.ts';
import { endpointsInOrder } from '../model/flow-delta.ts';

/** The tuple key of endpoints already in order. */
export function orderedTupleKey(protocol: number, aIp: string, aPort: number, bIp: string, bPort: number): string {
  return `${protocol}|${aIp}|${aPort}|${bIp}|${bPort}`;
}

/**
 * The same string, made flat. A key built by concatenation is, in V8, a tree of its pieces
 * until something flattens it, and a flow keeps its key for its whole life: left as a tree
 * it cost ~200 more bytes per flow (692 → 891 B/flow in `npm run bench -- memory`). ToNumber
 * flattens a string in place (as the `flatstr` package relies on); done once per new flow.
 */
export function flat(s: string): string {
  Number(s);
  return s;
}

/** Key without VLAN: what an event (which cannot see VLAN tags) can name. */
export function tupleKey(protocol: number, x: Endpoint, y: Endpoint): string {
  return endpointsInOrder(x.ip, x.port, y.ip, y.port)
    ? orderedTupleKey(protocol, x.ip, x.port, y.ip, y.port)
    : orderedTupleKey(protocol, y.ip, y.port, x.ip, x.port);
}

/** The flow key: the tuple key, and `|vlan` when tagged. */
export function flowKey(tuple: string, vlan: number | undefined): string {
  return vlan === undefined ? tuple : `${tuple}|${vlan}`;
}
