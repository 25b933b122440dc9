// The monitored interfaces of this collector, by id and by name.
import type { MonitoredInterface, PacketInterface, ZmqInterface } from './interface.ts';

export class InterfaceRegistry {
  readonly #byId = new Map<number, MonitoredInterface>();
  /** Packet interfaces by device, the first added for each (dispatch asks this for every event). */
  readonly #byDevice = new Map<string, PacketInterface>();

  add(iface: MonitoredInterface): void {
    if (this.#byId.has(iface.id)) throw new Error(`interface id ${iface.id} is already taken`);
    if (this.byName(iface.name)) throw new Error(`interface ${iface.name} is given twice`);
    this.#byId.set(iface.id, iface);
    if (iface.kind === 'packet' && !this.#byDevice.has((iface as PacketInterface).device)) this.#byDevice.set((iface as PacketInterface).device, iface as PacketInterface);
  }

  list(): MonitoredInterface[] {
    return [...this.#byId.values()];
  }

  zmqInterfaces(): ZmqInterface[] {
    return this.list().filter((i): i is ZmqInterface => i.kind === 'zmq');
  }

  packetInterfaces(): PacketInterface[] {
    return this.list().filter((i): i is PacketInterface => i.kind === 'packet');
  }

  byName(name: string): MonitoredInterface | undefined {
    for (const iface of this.#byId.values()) if (iface.name === name) return iface;
    return undefined;
  }

  /**
   * Resolves what a person or a URL names an interface by: its numeric id
   * (`"2"`) or its name (`"lo"`, `"tcp://*:5556c"`).
   */
  resolve(ref: string | number): MonitoredInterface | undefined {
    if (typeof ref === 'number') return this.#byId.get(ref);
    if (/^\d+$/.test(ref)) {
      const byId = this.#byId.get(Number(ref));
      if (byId) return byId;
    }
    return this.byName(ref);
  }

  /** The packet interface capturing on `device` (what an event's INTERFACE_NAME names). */
  packetByDevice(device: string): PacketInterface | undefined {
    return this.#byDevice.get(device);
  }
}
