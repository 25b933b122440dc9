// A fast path through an event schema, generated from the schema itself at start-up
// (straight-line code built with new Function, never hand-copied). It answers one
// question: is this record certainly valid? `false` means "invalid, or not sure", and
// ajv (validate.ts) then has the last word and gives the error. Each generated check is
// at least as strict as the schema's keyword (e.g. maxLength compares UTF-16 units,
// never fewer than the code points JSON Schema counts), so the fast path never accepts
// what ajv rejects. A keyword it does not know makes the schema ajv's alone.
//
// Supported: type (one name), enum (of primitives), minimum, maximum, maxLength,
// pattern, format (given as functions), required, properties, anyOf, oneOf (of
// branches of disjoint types), $ref (local). Annotations are ignored.

/** True only when `data` certainly matches the schema. */
export type SchemaCheck = (data: unknown) => boolean;
export type FormatCheck = (text: string) => boolean;

/** A schema keyword the generator does not handle: the schema stays ajv's alone. */
export class UnsupportedSchema extends Error {}

type Schema = Record<string, unknown>;

const ANNOTATIONS = new Set(['$schema', '$id', '$comment', 'title', 'description', 'definitions', 'default', 'examples']);
const KEYWORDS = new Set(['type', 'enum', 'minimum', 'maximum', 'maxLength', 'pattern', 'format', 'required', 'properties', 'anyOf', 'oneOf', '$ref']);

const TYPE_TESTS: Record<string, (x: string) => string> = {
  object: (x) => `(typeof ${x} === 'object' && ${x} !== null && !Array.isArray(${x}))`,
  string: (x) => `(typeof ${x} === 'string')`,
  number: (x) => `Number.isFinite(${x})`,
  integer: (x) => `Number.isInteger(${x})`,
  boolean: (x) => `(typeof ${x} === 'boolean')`,
  null: (x) => `(${x} === null)`,
};

class Generator {
  readonly functions: string[] = [];
  readonly patterns: RegExp[] = [];
  readonly formatChecks: FormatCheck[] = [];
  readonly #byRef = new Map<string, string>();
  readonly #root: Schema;
  readonly #formats: Record<string, FormatCheck>;
  readonly #everyName: boolean;

  constructor(root: Schema, formats: Record<string, FormatCheck>, everyName: boolean) {
    this.#root = root;
    this.#formats = formats;
    this.#everyName = everyName;
  }

  /** Generates the check of `schema`; returns its function's name. */
  check(schema: unknown): string {
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) throw new UnsupportedSchema('a schema that is not an object');
    const s = schema as Schema;
    const name = `c${this.functions.length}`;
    this.functions.push('');
    const body: string[] = [];
    for (const k of Object.keys(s)) {
      if (!ANNOTATIONS.has(k) && !KEYWORDS.has(k)) throw new UnsupportedSchema(`keyword ${k}`);
    }
    if (s.$ref !== undefined) {
      // Keywords beside $ref are read differently by drafts: leave such schemas to ajv.
      if (Object.keys(s).some((k) => KEYWORDS.has(k) && k !== '$ref')) throw new UnsupportedSchema('$ref with sibling keywords');
      body.push(`return ${this.#ref(s.$ref)}(x);`);
    } else {
      this.#type(s, body);
      this.#enum(s, body);
      this.#numbers(s, body);
      this.#strings(s, body);
      this.#object(s, body);
      this.#combinations(s, body);
      body.push('return true;');
    }
    this.functions[Number(name.slice(1))] = `function ${name}(x) {\n  ${body.join('\n  ')}\n}`;
    return name;
  }

  #ref(ref: unknown): string {
    if (typeof ref !== 'string' || !ref.startsWith('#/definitions/')) throw new UnsupportedSchema(`$ref ${String(ref)}`);
    let name = this.#byRef.get(ref);
    if (name === undefined) {
      const definitions = this.#root.definitions as Record<string, unknown> | undefined;
      const target = definitions?.[ref.slice('#/definitions/'.length)];
      if (target === undefined) throw new UnsupportedSchema(`$ref ${ref} not found`);
      // Named before generating, so a recursive definition refers to itself.
      name = `c${this.functions.length}`;
      this.#byRef.set(ref, name);
      this.check(target);
    }
    return name;
  }

  #type(s: Schema, body: string[]): void {
    if (s.type === undefined) return;
    const test = typeof s.type === 'string' ? TYPE_TESTS[s.type] : undefined;
    if (!test) throw new UnsupportedSchema(`type ${JSON.stringify(s.type)}`);
    body.push(`if (!${test('x')}) return false;`);
  }

  #enum(s: Schema, body: string[]): void {
    if (s.enum === undefined) return;
    if (!Array.isArray(s.enum) || s.enum.length === 0 || !s.enum.every((v) => v === null || ['string', 'number', 'boolean'].includes(typeof v))) {
      throw new UnsupportedSchema('enum of anything but strings, numbers, booleans and null');
    }
    body.push(`if (${s.enum.map((v) => `x !== ${JSON.stringify(v)}`).join(' && ')}) return false;`);
  }

  #numbers(s: Schema, body: string[]): void {
    for (const [k, op] of [['minimum', '>='], ['maximum', '<=']] as const) {
      if (s[k] === undefined) continue;
      if (!Number.isFinite(s[k])) throw new UnsupportedSchema(`${k} ${String(s[k])}`);
      body.push(`if (typeof x === 'number' && !(x ${op} ${String(s[k])})) return false;`);
    }
  }

  #strings(s: Schema, body: string[]): void {
    if (s.maxLength !== undefined) {
      if (!Number.isInteger(s.maxLength)) throw new UnsupportedSchema(`maxLength ${String(s.maxLength)}`);
      // UTF-16 units: never fewer than the code points the schema counts (longer: ajv decides).
      body.push(`if (typeof x === 'string' && x.length > ${String(s.maxLength)}) return false;`);
    }
    if (s.pattern !== undefined) {
      if (typeof s.pattern !== 'string') throw new UnsupportedSchema('pattern that is not a string');
      // As ajv compiles it (unicodeRegExp, its default).
      const i = this.patterns.push(new RegExp(s.pattern, 'u')) - 1;
      body.push(`if (typeof x === 'string' && !patterns[${i}].test(x)) return false;`);
    }
    if (s.format !== undefined) {
      const format = typeof s.format === 'string' ? this.#formats[s.format] : undefined;
      if (!format) throw new UnsupportedSchema(`format ${String(s.format)}`);
      const i = this.formatChecks.push(format) - 1;
      body.push(`if (typeof x === 'string' && !formats[${i}](x)) return false;`);
    }
  }

  #object(s: Schema, body: string[]): void {
    if (s.required === undefined && s.properties === undefined) return;
    // Not an object: these keywords would not apply, but say "not sure" (ajv decides).
    body.push(`if (!${TYPE_TESTS.object('x')}) return false;`);
    const required = s.required ?? [];
    if (!Array.isArray(required) || !required.every((k) => typeof k === 'string')) throw new UnsupportedSchema('required that is not a list of names');
    if (required.length > 30) throw new UnsupportedSchema('more than 30 required names');
    if (s.properties !== undefined && (typeof s.properties !== 'object' || s.properties === null)) throw new UnsupportedSchema('properties that is not an object');
    const properties = (s.properties ?? {}) as Record<string, unknown>;
    const names = [...new Set([...(required as string[]), ...Object.keys(properties)])];
    // An inherited name would read Object.prototype's member, not the record's.
    for (const k of names) if (k in Object.prototype) throw new UnsupportedSchema(`property ${k}`);
    const test = (k: string) => {
      const bit = required.indexOf(k);
      const sub = properties[k] !== undefined ? this.check(properties[k]) : undefined;
      return `if (v !== undefined) { ${sub ? `if (!${sub}(v)) return false; ` : ''}${bit >= 0 ? `seen |= ${1 << bit}; ` : ''}}`;
    };
    // Plain objects only (what JSON.parse makes): another prototype could hold a checked
    // name that for-in does not visit and ajv's reads would see.
    body.push(`const proto = Object.getPrototypeOf(x); if (proto !== Object.prototype && proto !== null) return false;`);
    body.push(`let seen = 0;`);
    if (this.#everyName) {
      // Objects of one shape that own every name (scanned-records.ts's scratch records): a
      // named load each, monomorphic there.
      for (const k of names) body.push(`{ const v = x[${JSON.stringify(k)}]; ${test(k)} }`);
    } else {
      // One pass over the record's keys (a keyed load in for-in reads the field by its index
      // whatever the record's shape, where named loads of the schema's absent names on
      // records of many shapes are megamorphic), each name checked where the switch finds
      // it, the required ones marked in a bit set. A value that is undefined counts as absent.
      body.push(`for (const k in x) { switch (k) { ${names.map((k) => `case ${JSON.stringify(k)}: { const v = x[k]; ${test(k)}break; }`).join(' ')} } }`);
    }
    if (required.length > 0) body.push(`if (seen !== ${(2 ** required.length) - 1}) return false;`);
  }

  #combinations(s: Schema, body: string[]): void {
    const branches = (k: 'anyOf' | 'oneOf') => {
      const list = s[k];
      if (!Array.isArray(list) || list.length === 0) throw new UnsupportedSchema(`${k} that is not a list of schemas`);
      return list;
    };
    if (s.anyOf !== undefined) {
      body.push(`if (!(${branches('anyOf').map((b) => `${this.check(b)}(x)`).join(' || ')})) return false;`);
    }
    if (s.oneOf !== undefined) {
      // Exactly one branch: decided like anyOf only when no value can match two branches,
      // i.e. every branch has a type of its own (integer being a number).
      const list = branches('oneOf');
      const types = list.map((b) => (typeof b === 'object' && b !== null ? (b as Schema).type : undefined)).map((t) => (t === 'integer' ? 'number' : t));
      if (!types.every((t) => typeof t === 'string') || new Set(types).size !== types.length) throw new UnsupportedSchema('oneOf whose branches may overlap');
      body.push(`if (!(${list.map((b) => `${this.check(b)}(x)`).join(' || ')})) return false;`);
    }
  }
}

/**
 * The schema's fast path, or undefined when the schema uses a keyword the generator
 * does not handle (ajv alone then). `formats` are the very checks ajv was given.
 * `everyName`: for objects that own every name their schema's properties and required
 * list (scratch records, never JSON.parse's), which it reads by name.
 */
export function compileSchemaCheck(schema: object, formats: Record<string, FormatCheck>, o: { everyName?: boolean } = {}): SchemaCheck | undefined {
  const g = new Generator(schema as Schema, formats, o.everyName === true);
  let root: string;
  try {
    root = g.check(schema);
  } catch (err) {
    if (err instanceof UnsupportedSchema) return undefined;
    throw err;
  }
  const source = `${g.functions.join('\n')}\nreturn ${root};`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function('patterns', 'formats', source)(g.patterns, g.formatChecks) as SchemaCheck;
}
