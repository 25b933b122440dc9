// nDPI serializer TLV (reference/wire-format.md, "Payload encodings"): the binary
// twin of the JSON records. Decoding yields the same plain objects JSON.parse would,
// so one validator and one normaliser serve both encodings.

const enum T {
  Unknown = 0,
  EndOfRecord = 1,
  U8 = 2,
  U16 = 3,
  U32 = 4,
  U64 = 5,
  I8 = 6,
  I16 = 7,
  I32 = 8,
  I64 = 9,
  Float = 10,
  String = 11,
  StartOfBlock = 12,
  EndOfBlock = 13,
  StartOfList = 14,
  EndOfList = 15,
}

export class TlvError extends Error {}

/** Nesting deeper than this is refused (records are two levels deep in practice). */
const MAX_DEPTH = 16;

type Value = number | string | Record<string, unknown> | unknown[];

class Reader {
  pos = 2;
  constructor(readonly buf: Buffer) {}

  need(n: number): void {
    if (this.pos + n > this.buf.length) throw new TlvError(`truncated at byte ${this.pos} (needs ${n} more)`);
  }

  string(): string {
    this.need(2);
    const len = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    this.need(len);
    const s = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return s;
  }

  key(type: number): string {
    switch (type) {
      case T.U8: this.need(1); return String(this.buf[this.pos++]);
      case T.U16: this.need(2); this.pos += 2; return String(this.buf.readUInt16BE(this.pos - 2));
      case T.U32: this.need(4); this.pos += 4; return String(this.buf.readUInt32BE(this.pos - 4));
      case T.String: return this.string();
      default: throw new TlvError(`key type ${type} at byte ${this.pos - 1} (accepted: u8, u16, u32, string)`);
    }
  }

  scalar(type: number): number | string {
    const b = this.buf;
    const at = this.pos;
    switch (type) {
      case T.U8: this.need(1); this.pos += 1; return b[at];
      case T.U16: this.need(2); this.pos += 2; return b.readUInt16BE(at);
      case T.U32: this.need(4); this.pos += 4; return b.readUInt32BE(at);
      case T.U64: this.need(8); this.pos += 8; return Number(b.readBigUInt64BE(at));
      case T.I8: this.need(1); this.pos += 1; return b.readInt8(at);
      case T.I16: this.need(2); this.pos += 2; return b.readInt16BE(at);
      case T.I32: this.need(4); this.pos += 4; return b.readInt32BE(at);
      case T.I64: this.need(8); this.pos += 8; return Number(b.readBigInt64BE(at));
      // A float32 carries ~7 significant digits: render it as the number the producer wrote.
      case T.Float: this.need(4); this.pos += 4; return Number(b.readFloatBE(at).toPrecision(7));
      case T.String: return this.string();
      default: throw new TlvError(`value type ${type} at byte ${at - 1}`);
    }
  }

  /** Reads items into `into` until the closing type (end of record/block/list). */
  items(into: Record<string, unknown> | unknown[], close: number, depth: number): void {
    if (depth > MAX_DEPTH) throw new TlvError(`nesting deeper than ${MAX_DEPTH}`);
    for (;;) {
      if (this.pos >= this.buf.length) {
        if (close === T.EndOfRecord) return; // the last record may omit its end marker
        throw new TlvError(`missing end of ${close === T.EndOfBlock ? 'block' : 'list'}`);
      }
      const typeByte = this.buf[this.pos++];
      const keyType = typeByte >> 4;
      const valueType = typeByte & 0x0f;
      if (typeByte === close) return;
      if (keyType === T.Unknown && (valueType === T.EndOfBlock || valueType === T.EndOfList || valueType === T.EndOfRecord)) {
        throw new TlvError(`unexpected end marker ${valueType} at byte ${this.pos - 1}`);
      }
      const key = Array.isArray(into) ? '' : this.key(keyType);
      if (Array.isArray(into) && keyType !== T.Unknown) this.key(keyType); // list items may carry a key: ignored
      let value: Value;
      if (valueType === T.StartOfBlock) {
        const obj: Record<string, unknown> = {};
        this.items(obj, T.EndOfBlock, depth + 1);
        value = obj;
      } else if (valueType === T.StartOfList) {
        const arr: unknown[] = [];
        this.items(arr, T.EndOfList, depth + 1);
        value = arr;
      } else {
        value = this.scalar(valueType);
      }
      if (Array.isArray(into)) into.push(value);
      // A "__proto__" key is data, as in JSON.parse: assigning it would set the prototype.
      else if (key === '__proto__') Object.defineProperty(into, key, { value, enumerable: true, writable: true, configurable: true });
      else into[key] = value;
    }
  }
}

/** Decodes every record of a TLV buffer into plain objects. Throws TlvError when malformed. */
export function decodeTlv(buf: Buffer): Record<string, unknown>[] {
  if (buf.length < 2 || buf[0] !== 1 || buf[1] !== 1) {
    throw new TlvError(`not an nDPI TLV buffer (starts ${buf.subarray(0, 2).toString('hex')}, expected 0101)`);
  }
  const r = new Reader(buf);
  const records: Record<string, unknown>[] = [];
  while (r.pos < buf.length) {
    const record: Record<string, unknown> = {};
    r.items(record, T.EndOfRecord, 0);
    records.push(record);
  }
  return records;
}

// ---- encoding, for producers (the demo, tests and benchmarks) ----

function encodeKey(key: string, out: number[], typeValue: number): void {
  const n = /^\d{1,10}$/.test(key) ? Number(key) : NaN;
  if (n <= 0xffffffff) {
    const kt = n <= 0xff ? T.U8 : n <= 0xffff ? T.U16 : T.U32;
    out.push((kt << 4) | typeValue);
    pushUint(out, n, kt === T.U8 ? 1 : kt === T.U16 ? 2 : 4);
  } else {
    out.push((T.String << 4) | typeValue);
    pushString(out, key);
  }
}

function pushUint(out: number[], n: number, bytes: number): void {
  for (let i = bytes - 1; i >= 0; i--) out.push(Math.floor(n / 2 ** (8 * i)) & 0xff);
}

function pushString(out: number[], s: string): void {
  const b = Buffer.from(s, 'utf8');
  pushUint(out, b.length, 2);
  for (const x of b) out.push(x);
}

function encodeValue(key: string | undefined, v: unknown, out: number[]): void {
  const head = (type: number) => (key === undefined ? out.push(type) : encodeKey(key, out, type));
  if (typeof v === 'string') { head(T.String); pushString(out, v); return; }
  if (typeof v === 'number' && Number.isInteger(v)) {
    if (v >= 0 && v <= 0xffffffff) {
      const t = v <= 0xff ? T.U8 : v <= 0xffff ? T.U16 : T.U32;
      head(t);
      pushUint(out, v, t === T.U8 ? 1 : t === T.U16 ? 2 : 4);
    } else if (v >= -0x80000000 && v < 0) {
      head(T.I32);
      const b = Buffer.alloc(4);
      b.writeInt32BE(v);
      out.push(...b);
    } else {
      head(v < 0 ? T.I64 : T.U64);
      const b = Buffer.alloc(8);
      if (v < 0) b.writeBigInt64BE(BigInt(v));
      else b.writeBigUInt64BE(BigInt(v));
      out.push(...b);
    }
    return;
  }
  if (typeof v === 'number') {
    head(T.Float);
    const b = Buffer.alloc(4);
    b.writeFloatBE(v);
    out.push(...b);
    return;
  }
  if (Array.isArray(v)) {
    head(T.StartOfList);
    for (const item of v) encodeValue(undefined, item, out);
    out.push(T.EndOfList);
    return;
  }
  if (typeof v === 'object' && v !== null) {
    head(T.StartOfBlock);
    for (const [k, x] of Object.entries(v)) encodeValue(k, x, out);
    out.push(T.EndOfBlock);
    return;
  }
  throw new TypeError(`cannot encode ${typeof v} as TLV`);
}

/** Encodes records as nDPI TLV (integers as the smallest unsigned type, other numbers as float32). */
export function encodeTlv(records: Record<string, unknown>[]): Buffer {
  const out: number[] = [1, 1];
  for (const record of records) {
    for (const [k, v] of Object.entries(record)) encodeValue(k, v, out);
    out.push(T.EndOfRecord);
  }
  return Buffer.from(out);
}
