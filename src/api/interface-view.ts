// How an interface is shown by the API and the pages: identity, settings, state,
// and its counters, from whichever parts of the pipeline own them.
import type { MonitoredInterface, PacketInterface, ZmqInterface } from '../interfaces/interface.ts';
import type { ApiContext } from './context.ts';

export interface InterfaceView {
  id: number;
  name: string;
  kind: 'zmq' | 'packet';
  mirrored: boolean;
  companion: string | null;
  status: ReturnType<MonitoredInterface['status']>;
  problems: string[];
  flows: ReturnType<MonitoredInterface['flows']['stats']>;
  dispatch?: { delivered: Record<string, number>; dropped: Record<string, number>; queueSize: number; queueBound: number };
  capture?: ReturnType<PacketInterface['capture']> & { device: string };
  collector?: { endpoints: string; messages: Record<string, number>; events: Record<string, number>; rejected: Record<string, number>; lostMessages: number; exporters: number };
}

export function interfaceView(ctx: ApiContext, iface: MonitoredInterface): InterfaceView {
  const d = ctx.dispatcher.stats().find((s) => s.interfaceId === iface.id);
  const view: InterfaceView = {
    id: iface.id,
    name: iface.name,
    kind: iface.kind,
    mirrored: ctx.companions.isMirrored(iface),
    companion: iface.kind === 'zmq' ? ctx.companions.companionOf(iface) : null,
    status: iface.status(),
    problems: ctx.companions.problems().filter((p) => p.includes(iface.name)),
    flows: iface.flows.stats(),
  };
  if (d) view.dispatch = { delivered: d.delivered, dropped: d.dropped, queueSize: d.queueSize, queueBound: d.queueBound };
  if (iface.kind === 'packet') {
    const p = iface as PacketInterface;
    view.capture = { device: p.device, ...p.capture() };
  } else {
    const z = iface as ZmqInterface;
    const s = z.collectorStats();
    view.collector = {
      endpoints: z.endpoints,
      messages: s.messages,
      events: s.events,
      rejected: s.rejected as Record<string, number>,
      lostMessages: s.lostMessages,
      exporters: s.exporters.length,
    };
  }
  return view;
}
