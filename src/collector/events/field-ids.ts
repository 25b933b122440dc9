// JSON keys may be NetFlow/IPFIX field ids ("8") or "PEN.id" ("35632.168") instead
// of names. Standard ids are built in; producer-specific ones are learned from
// `template` messages. The learned table is bounded.

/** IANA IPFIX / NetFlow v9 ids of the fields these events use. */
const STANDARD: Record<string, string> = {
  '4': 'PROTOCOL',
  '7': 'L4_SRC_PORT',
  '8': 'IPV4_SRC_ADDR',
  '11': 'L4_DST_PORT',
  '12': 'IPV4_DST_ADDR',
  '27': 'IPV6_SRC_ADDR',
  '28': 'IPV6_DST_ADDR',
  '60': 'IP_PROTOCOL_VERSION',
  '82': 'INTERFACE_NAME',
  '130': 'EXPORTER_IPV4_ADDRESS',
};

export const MAX_LEARNED_FIELDS = 4096;

export class FieldIds {
  readonly #learned = new Map<string, string>();
  /** Template entries ignored because the table was full. */
  dropped = 0;

  get size(): number {
    return this.#learned.size;
  }

  /**
   * Learns id → name pairs from a `template` record. Accepts the shapes producers use:
   * `{ "field": 8, "name": "IPV4_SRC_ADDR" }`, with an optional `"PEN"` (or `"pen"`),
   * or a `{ "8": "IPV4_SRC_ADDR" }` map.
   */
  learn(record: Record<string, unknown>): number {
    let learned = 0;
    const add = (id: string, name: unknown) => {
      if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return;
      if (!this.#learned.has(id) && this.#learned.size >= MAX_LEARNED_FIELDS) {
        this.dropped++;
        return;
      }
      this.#learned.set(id, name);
      learned++;
    };
    const field = record.field ?? record.id;
    if (typeof field === 'number' || typeof field === 'string') {
      const pen = record.PEN ?? record.pen;
      add(pen !== undefined && pen !== 0 && !String(field).includes('.') ? `${pen}.${field}` : String(field), record.name);
    } else {
      for (const [id, name] of Object.entries(record)) if (/^\d+(\.\d+)?$/.test(id)) add(id, name);
    }
    return learned;
  }

  /** Renames numeric keys in place (when the record has any). Unknown ids stay as they are. */
  resolve(record: Record<string, unknown>): Record<string, unknown> {
    let numeric = false;
    for (const k in record) {
      const c = k.charCodeAt(0);
      if (c >= 48 && c <= 57) { numeric = true; break; }
    }
    if (!numeric) return record;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(record)) {
      const c = k.charCodeAt(0);
      const name = c >= 48 && c <= 57 ? this.#learned.get(k) ?? STANDARD[k] : undefined;
      // A "__proto__" key is data like any other: assigning it would set the prototype instead.
      if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
      else out[name ?? k] = v;
    }
    return out;
  }
}
