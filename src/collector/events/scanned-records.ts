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

/** One object of the scratch records: its names, and its nested objects' indexes by name. */
interface Scratch {
  readonly index: number;
  readonly names: string[];
  readonly nested: Map<string, number>;
}

const MAX_NESTING = 8;
const MAX_KEYS = 255;
/** Objects in the scratch records: which were used is kept in a 31-bit mask. */
const MAX_OBJECTS = 31;

/** Cannot build the scratch records of this schema: payloads go the JSON.parse way. */
class Unsupported extends Error {}

/** The schema a local `$ref` points to, or the schema itself. */
function resolved(schema: unknown, root: Schema): Schema | undefined {
  const s = schema as Schema | undefined;
  const ref = s?.$ref;
  return typeof ref === 'string' && ref.startsWith('#/definitions/') ? (root.definitions as Record<string, Schema> | undefined)?.[ref.slice('#/definitions/'.length)] : s;
}

/**
 * The objects of the scratch records of `schema`, depth first (the root first): one for
 * every property whose schema is an object with properties, at every place it occurs.
 */
function scratchOf(schema: unknown, root: Schema, keys: Map<string, number>, depth: number, out: Scratch[]): number {
  const properties = (resolved(schema, root)?.properties ?? {}) as Record<string, unknown>;
  const names = Object.keys(properties);
  for (const name of names) {
    if (name in Object.prototype) throw new Unsupported(`property ${name}`);
    if (!keys.has(name)) keys.set(name, keys.size);
  }
  if (keys.size > MAX_KEYS) throw new Unsupported('more than 255 property names');
  const scratch: Scratch = { index: out.length, names, nested: new Map() };
  out.push(scratch);
  if (out.length > MAX_OBJECTS) throw new Unsupported('more than 31 nested objects');
  for (const name of names) {
    const p = resolved(properties[name], root);
    if (p?.properties !== undefined && depth < MAX_NESTING) scratch.nested.set(name, scratchOf(p, root, keys, depth + 1, out));
  }
  return scratch.index;
}

/**
 * Walks a tape: sets each value into its scratch object and gives each complete record to
 * `check` then `take`. Returns -1 when every record was taken, else (records taken) * 2
 * + 1 when a record was refused, or + 0 when a key came twice or where the schema does not put it.
 */
type Walk = (tape: Float64Array, entries: number, strings: string[], check: SchemaCheck, take: (record: Raw) => boolean) => number;

/**
 * The walk of these scratch objects, generated: one switch on (object, key id) whose every
 * load and store names its field (objects of one shape each: monomorphic).
 */
function walkOf(objects: Scratch[], keys: Map<string, number>): Walk {
  const field = (o: number, name: string) => `r${o}[${JSON.stringify(name)}]`;
  const fallback = (reason: 0 | 1) => `{ clear(touched); return taken * 2 + ${reason}; }`;
  const values: string[] = [];
  const opens: string[] = [];
  for (const o of objects) {
    for (const name of o.names) {
      const c = (o.index << 8) | keys.get(name)!;
      values.push(`case ${c}: if (${field(o.index, name)} !== undefined) ${fallback(0)} ${field(o.index, name)} = v; break;`);
      const inner = o.nested.get(name);
      if (inner !== undefined) {
        opens.push(`case ${c}: if (${field(o.index, name)} !== undefined) ${fallback(0)} ${field(o.index, name)} = r${inner}; stack[depth++] = at; at = ${inner}; touched |= ${1 << inner}; break;`);
      }
    }
  }
  const source = `
${objects.map((o) => `const r${o.index} = { ${o.names.map((n) => `${JSON.stringify(n)}: undefined`).join(', ')} };`).join('\n')}
const stack = new Int32Array(${MAX_NESTING + 1});
function clear(touched) {
  ${objects[0].names.map((n) => `${field(0, n)} = undefined;`).join(' ')}
  ${objects.slice(1).map((o) => `if (touched & ${1 << o.index}) { ${o.names.map((n) => `${field(o.index, n)} = undefined;`).join(' ')} }`).join('\n  ')}
}
function walk(tape, entries, strings, check, take) {
  let at = 0, depth = 0, taken = 0, touched = 0;
  for (let e = 0; e < entries; e++) {
    const code = tape[2 * e];
    const op = code >> 8;
    if (op === ${OP_NUMBER} || op === ${OP_STRING}) {
      const v = op === ${OP_NUMBER} ? tape[2 * e + 1] : strings[tape[2 * e + 1]];
      switch ((at << 8) | (code & 255)) {
        ${values.join('\n        ')}
        default: ${fallback(0)}
      }
    } else if (op === ${OP_OBJECT}) {
      switch ((at << 8) | (code & 255)) {
        ${opens.join('\n        ')}
        default: ${fallback(0)}
      }
    } else if (op === ${OP_END}) {
      if (depth > 0) {
        at = stack[--depth];
        continue;
      }
      let ok = false;
      try {
        ok = check(r0) && take(r0);
      } finally {
        // Also when take throws (a bug of ours, counted by the caller): the next payload starts clean.
        clear(touched);
        touched = 0;
      }
      if (!ok) return taken * 2 + 1;
      taken++;
    } else if (op === ${OP_RECORD}) {
      at = 0;
    }
  }
  return -1;
}
return walk;`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function(source)() as Walk;
}

export class ScannedRecords {
  readonly #scanner: JsonScanner;
  readonly #check: SchemaCheck;
  readonly #walk: Walk;
  /** Interned strings by the scanner's ids. */
  readonly #strings: string[] = [];
  /** Payloads and records that went the JSON.parse way, by reason. */
  readonly fallbacks: Partial<Record<FallbackReason, number>> = {};
  /** Records that went this way. */
  scanned = 0;

  private constructor(scanner: JsonScanner, check: SchemaCheck, walk: Walk) {
    this.#scanner = scanner;
    this.#check = check;
    this.#walk = walk;
  }

  /**
   * The scanned path for records of `schema`, whose root properties must be exactly the
   * fields the normaliser knows (`known`: a record scanned has no additional fields).
   * A string says why there is none.
   */
  static open(schema: object, check: SchemaCheck | undefined, known: ReadonlySet<string>, maxPayloadBytes: number): ScannedRecords | string {
    if (!check) return 'the schema has no fast check';
    const keys = new Map<string, number>();
    const objects: Scratch[] = [];
    try {
      scratchOf(schema, schema as Schema, keys, 0, objects);
    } catch (err) {
      if (err instanceof Unsupported) return `the schema's ${err.message} cannot be scanned`;
      throw err;
    }
    const names = objects[0].names;
    if (names.length !== known.size || !names.every((n) => known.has(n))) return "the schema's properties are not the fields normalisation reads";
    const scanner = openJsonScanner([...keys.keys()], maxPayloadBytes);
    if (typeof scanner === 'string') return scanner;
    return new ScannedRecords(scanner, check, walkOf(objects, keys));
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
    const walked = this.#walk(scanner.tape, scanner.info[1], this.#strings, this.#check, take);
    if (walked < 0) {
      this.scanned += result;
      return undefined;
    }
    return this.#fallback(walked >> 1, walked & 1 ? 'record' : 'shape');
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
    this.scanned += taken;
    this.fallbacks[reason] = (this.fallbacks[reason] ?? 0) + 1;
    return taken;
  }
}
