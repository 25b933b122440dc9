// How an interface is shown by the API and the pages: identity, settings, state,
// its counters and bounded tables (from the telemetry), and its own problems.
import type { MonitoredInterface } from '../interfaces/interface.ts';
import type { Decoding } from '../model/exporter.ts';
import type { Bound, InterfaceTelemetry } from '../model/telemetry.ts';
import type { ApiContext } from './context.ts';

export interface InterfaceView {
  id: number;
  name: string;
  kind: 'zmq' | 'packet';
  mirrored: boolean;
  companion: string | null;
  status: InterfaceTelemetry['status'];
  /** Problems about this interface (and no other). */
  problems: string[];
  flows: InterfaceTelemetry['flows'];
  dispatch: InterfaceTelemetry['dispatch'];
  capture?: InterfaceTelemetry['capture'];
  collector?: {
    endpoints: string;
    messages: Record<string, number>;
    events: Record<string, number>;
    rejected: Record<string, number>;
    rejectedByTopic: Record<string, Record<string, number>>;
    lostMessages: number;
    exporters: number;
    decoding: Decoding;
  };
  tables: Record<string, Bound>;
}

/** Every interface, in registry order. */
export function interfaceViews(ctx: ApiContext): InterfaceView[] {
  const problems = ctx.telemetry.problems();
  return ctx.telemetry.interfaces().map((t) => {
    const iface = ctx.registry.resolve(t.id)!;
    const view: InterfaceView = {
      id: t.id,
      name: t.name,
      kind: t.kind,
      mirrored: ctx.companions.isMirrored(iface),
      companion: t.kind === 'zmq' ? ctx.companions.companionOf(iface) : null,
      status: t.status,
      problems: problems.filter((p) => p.interfaceId === t.id).map((p) => p.text),
      flows: t.flows,
      dispatch: t.dispatch,
      tables: t.tables,
    };
    if (t.capture) view.capture = t.capture;
    if (t.collector) {
      const c = t.collector;
      view.collector = {
        endpoints: c.endpoints, messages: c.messages, events: c.events,
        rejected: c.rejected as Record<string, number>, rejectedByTopic: c.rejectedByTopic as Record<string, Record<string, number>>,
        lostMessages: c.lostMessages, exporters: c.exporters.length, decoding: c.decoding,
      };
    }
    return view;
  });
}

export function interfaceView(ctx: ApiContext, iface: MonitoredInterface): InterfaceView {
  return interfaceViews(ctx).find((v) => v.id === iface.id)!;
}
