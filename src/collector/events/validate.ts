// The event schemas in schemas/, compiled once at start-up (never per message).
// A failure is reported as the first schema error, precise enough for an operator
// to see which field of which producer is wrong. Each schema also gets a fast path
// generated from it (schema-check.ts) that accepts the records certainly valid;
// ajv decides the rest and gives the error, so what is refused and why is ajv's.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import countersSchema from '../../../schemas/counters-event.schema.json' with { type: 'json' };
import listeningPortsSchema from '../../../schemas/listening-ports.schema.json' with { type: 'json' };
import socketSchema from '../../../schemas/socket-event.schema.json' with { type: 'json' };
import { isIpv6Text } from './address-memo.ts';
import { compileSchemaCheck, type FormatCheck, type SchemaCheck } from './schema-check.ts';

export type SchemaName = 'socket-event' | 'counters-event' | 'listening-ports';

/** True when the record matches; after false, `errors` says why (ajv's errors). */
export interface Validate {
  (data: unknown): boolean;
  readonly errors?: ErrorObject[] | null;
  /** The generated fast path, when the schema's keywords allow one. */
  readonly fast?: SchemaCheck;
  /** The same for objects that own every name the schema checks (scanned-records.ts's scratch records). */
  readonly fastOwningEveryName?: SchemaCheck;
  /** ajv's validator alone. */
  readonly ajv: ValidateFunction;
}

export type Validators = Record<SchemaName, Validate>;

/** ajv's format checks as plain functions (only the synchronous string ones). */
function formatChecks(formats: Ajv['formats']): Record<string, FormatCheck> {
  const out: Record<string, FormatCheck> = {};
  for (const [name, f] of Object.entries(formats)) {
    const v = f instanceof RegExp || typeof f === 'function' ? f : typeof f === 'object' && f !== null && !f.async && f.type !== 'number' ? f.validate : undefined;
    if (v instanceof RegExp) out[name] = (text) => v.test(text);
    else if (typeof v === 'function') out[name] = v as FormatCheck;
  }
  return out;
}

/** The fast path first; ajv for what it does not accept (and for the errors). */
function withFastPath(schema: object, slow: ValidateFunction, formats: Record<string, FormatCheck>): Validate {
  const fast = compileSchemaCheck(schema, formats);
  const validate = (fast ? (data: unknown) => fast(data) || (slow(data) as boolean) : (data: unknown) => slow(data) as boolean) as Validate;
  Object.defineProperty(validate, 'errors', { get: () => slow.errors });
  Object.defineProperty(validate, 'fast', { value: fast });
  Object.defineProperty(validate, 'fastOwningEveryName', { value: compileSchemaCheck(schema, formats, { everyName: true }) });
  Object.defineProperty(validate, 'ajv', { value: slow });
  return validate;
}

export function compileValidators(): Validators {
  const ajv = new Ajv({ allErrors: false, strict: true, strictRequired: false, allowUnionTypes: true });
  addFormats.default(ajv, ['ipv4']);
  // ajv-formats' ipv6 is one long regular expression (~0.25 µs a check); the memo
  // answers a repeated address at once, and normalisation needs its canonical form anyway.
  ajv.addFormat('ipv6', { type: 'string', validate: isIpv6Text });
  ajv.addSchema(socketSchema);
  const formats = formatChecks(ajv.formats);
  return {
    'socket-event': withFastPath(socketSchema, ajv.getSchema(socketSchema.$id)!, formats),
    'counters-event': withFastPath(countersSchema, ajv.compile(countersSchema), formats),
    'listening-ports': withFastPath(listeningPortsSchema, ajv.compile(listeningPortsSchema), formats),
  };
}

export function describeSchemaErrors(errors: ErrorObject[] | null | undefined): string {
  const e = errors?.[0];
  if (!e) return 'does not match the schema';
  const where = e.instancePath || '(record)';
  const allowed = e.keyword === 'enum' ? ` (${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')})` : '';
  return `${where} ${e.message}${allowed}`;
}
