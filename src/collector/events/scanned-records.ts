// Records straight from the native scanner's tape (src/native/json-scan.ts), without
// JSON.parse: the one pass that decodes a socket payload. The tape's values are set
// into scratch records generated at start from the schema (one object per nested
// object the schema describes, every property present and undefined until set), which
// the schema's fast check (schema-check.ts), orientation and packing then read like
// any record: same code, same verdicts, but on objects of one shape, reused for every
// record. Whatever this path is not sure of, it leaves to the JSON.parse path from
// that record on: a payload the scanner declines, a key twice, a key the schema does
// not describe where it stands, a record the fast check does not accept.
import type { SchemaCheck } from './schema-check.ts';
import {
  DECLINE_REASONS, FRESH_ESCAPED, FRESH_NON_ASCII, OP_END, OP_NUMBER, OP_OBJECT, OP_RECORD, OP_STRING, openJsonScanner, type DeclineReason, type JsonScanner,
} from '../../native/json-scan.ts';
import type { Raw } from './normalise.ts';

type Schema = Record<string, unknown>;

/** Why a payload or record went the JSON.parse way: the scanner's reasons, or the record's. */
export type FallbackReason = DeclineReason | 'shape' | 'record';

/** One object of the scratch record: the object, a setter by key id, its nested objects by key id. */
interface Scratch {
  readonly record: Raw;
  /** Sets the field with this key id; false when the object has no such field or it is set already. */
  readonly set: (record: Raw, key: number, value: unknown) => boolean;
  readonly clear: (record: Raw) => void;
  readonly nested: (Scratch | undefined)[];
}

const MAX_NESTING = 8;
const MAX_KEYS = 255;

/** Cannot build the scratch records of this schema: payloads go the JSON.parse way. */
class Unsupported extends Error {}

/** The scratch objects of `schema` (nested ones for properties that are objects with properties). */
function scratchOf(schema: unknown, root: Schema, keys: Map<string, number>, depth: number): Scratch {
  let s = schema as Schema;
  if (typeof s.$ref === 'string' && s.$ref.startsWith('#/definitions/')) s = (root.definitions as Record<string, Schema>)[s.$ref.slice(14)];
  const properties = (s?.properties ?? {}) as Record<string, unknown>;
  const names = Object.keys(properties);
  for (const name of names) {
    if (name in Object.prototype) throw new Unsupported(`property ${name}`);
    if (!keys.has(name)) keys.set(name, keys.size);
  }
  if (keys.size > MAX_KEYS) throw new Unsupported('more than 255 property names');
  const field = (name: string) => `o[${JSON.stringify(name)}]`;
  // Generated, so that every load and store names its field (one shape: monomorphic).
  /* eslint-disable @typescript-eslint/no-implied-eval */
  const make = new Function(`return { ${names.map((n) => `${JSON.stringify(n)}: undefined`).join(', ')} };`) as () => Raw;
  const set = new Function('o', 'key', 'v', `switch (key) {\n${names.map((n) => `  case ${keys.get(n)}: if (${field(n)} !== undefined) return false; ${field(n)} = v; return true;`).join('\n')}\n  default: return false;\n}`) as Scratch['set'];
  const clear = new Function('o', names.map((n) => `${field(n)} = undefined;`).join('\n')) as Scratch['clear'];
  /* eslint-enable @typescript-eslint/no-implied-eval */
  const nested: (Scratch | undefined)[] = [];
  for (const name of names) {
    let p = properties[name] as Schema;
    if (typeof p?.$ref === 'string' && p.$ref.startsWith('#/definitions/')) p = (root.definitions as Record<string, Schema>)[p.$ref.slice(14)];
    if (p?.properties !== undefined && depth < MAX_NESTING) nested[keys.get(name)!] = scratchOf(p, root, keys, depth + 1);
  }
  return { record: make(), set, clear, nested };
}

export class ScannedRecords {
  readonly #scanner: JsonScanner;
  readonly #check: SchemaCheck;
  readonly #root: Scratch;
  /** Interned strings by the scanner's ids. */
  readonly #strings: string[] = [];
  readonly #stack: Scratch[] = [];
  readonly #touched: Scratch[] = [];
  /** Payloads and records that went the JSON.parse way, by reason. */
  readonly fallbacks: Partial<Record<FallbackReason, number>> = {};
  /** Records that went this way. */
  scanned = 0;

  private constructor(scanner: JsonScanner, check: SchemaCheck, root: Scratch) {
    this.#scanner = scanner;
    this.#check = check;
    this.#root = root;
  }

  /**
   * The scanned path for records of `schema`, whose root properties must be exactly the
   * fields the normaliser knows (`known`: a record scanned has no additional fields).
   * A string says why there is none.
   */
  static open(schema: object, check: SchemaCheck | undefined, known: ReadonlySet<string>, maxPayloadBytes: number): ScannedRecords | string {
    if (!check) return 'the schema has no fast check';
    const keys = new Map<string, number>();
    let root: Scratch;
    try {
      root = scratchOf(schema, schema as Schema, keys, 0);
    } catch (err) {
      if (err instanceof Unsupported) return `the schema's ${err.message} cannot be scanned`;
      throw err;
    }
    const names = Object.keys(root.record);
    if (names.length !== known.size || !names.every((n) => known.has(n))) return "the schema's properties are not the fields normalisation reads";
    const scanner = openJsonScanner([...keys.keys()], maxPayloadBytes);
    if (typeof scanner === 'string') return scanner;
    return new ScannedRecords(scanner, check, root);
  }

  /**
   * Gives `take` each record of the payload, in order, while each is certainly valid
   * (`take` answers false to refuse one). Returns undefined when every record was taken,
   * or the index of the first record left to the JSON.parse path (0: the whole payload).
   */
  records(data: Buffer, take: (record: Raw) => boolean): number | undefined {
    const scanner = this.#scanner;
    const result = scanner.scan(data);
    this.#learn(data);
    if (result < 0) return this.#fallback(0, DECLINE_REASONS[-result - 1]);
    const tape = scanner.tape;
    const entries = scanner.info[1];
    const strings = this.#strings;
    const stack = this.#stack;
    const touched = this.#touched;
    const root = this.#root;
    let at: Scratch = root;
    let depth = 0;
    let taken = 0;
    for (let e = 0; e < entries; e++) {
      const code = tape[2 * e];
      const op = code >> 8;
      const key = code & 255;
      if (op === OP_NUMBER || op === OP_STRING) {
        if (!at.set(at.record, key, op === OP_NUMBER ? tape[2 * e + 1] : strings[tape[2 * e + 1]])) return this.#fallback(taken, 'shape');
      } else if (op === OP_OBJECT) {
        const inner = at.nested[key];
        if (inner === undefined || !at.set(at.record, key, inner.record)) return this.#fallback(taken, 'shape');
        stack[depth++] = at;
        at = inner;
        touched.push(inner);
      } else if (op === OP_END) {
        if (depth > 0) {
          at = stack[--depth];
          continue;
        }
        const ok = this.#check(root.record) && take(root.record);
        this.#clear();
        if (!ok) return this.#fallback(taken, 'record');
        taken++;
      } else if (op === OP_RECORD) {
        at = root;
      }
    }
    this.scanned += taken;
    return undefined;
  }

  /** The interned strings' table (size, bound, and how often it was forgotten as a whole). */
  strings(): { size: number; max: number; resets: number } {
    return this.#scanner.strings();
  }

  close(): void {
    this.#scanner.close();
  }

  /** Decodes the strings the scanner saw first in this payload (it interned them, declined or not). */
  #learn(data: Buffer): void {
    const { fresh, info } = this.#scanner;
    const strings = this.#strings;
    for (let k = 0, n = info[2] * 4; k < n; k += 4) {
      const from = fresh[k + 1];
      const to = from + fresh[k + 2];
      const flags = fresh[k + 3];
      strings[fresh[k]] = flags & FRESH_ESCAPED ? (JSON.parse(data.toString('utf8', from - 1, to + 1)) as string)
        : flags & FRESH_NON_ASCII ? data.toString('utf8', from, to) : data.toString('latin1', from, to);
    }
  }

  #fallback(taken: number, reason: FallbackReason): number {
    this.#clear();
    this.scanned += taken;
    this.fallbacks[reason] = (this.fallbacks[reason] ?? 0) + 1;
    return taken;
  }

  #clear(): void {
    const root = this.#root;
    root.clear(root.record);
    for (const s of this.#touched) s.clear(s.record);
    this.#touched.length = 0;
  }
}
