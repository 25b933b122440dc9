// The event schemas in schemas/, compiled once at start-up (never per message).
// A failure is reported as the first schema error, precise enough for an operator
// to see which field of which producer is wrong.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import countersSchema from '../../../schemas/counters-event.schema.json' with { type: 'json' };
import listeningPortsSchema from '../../../schemas/listening-ports.schema.json' with { type: 'json' };
import socketSchema from '../../../schemas/socket-event.schema.json' with { type: 'json' };
import { isIpv6Text } from './address-memo.ts';

export type SchemaName = 'socket-event' | 'counters-event' | 'listening-ports';

export type Validators = Record<SchemaName, ValidateFunction>;

export function compileValidators(): Validators {
  const ajv = new Ajv({ allErrors: false, strict: true, strictRequired: false, allowUnionTypes: true });
  addFormats.default(ajv, ['ipv4']);
  // ajv-formats' ipv6 is one long regular expression (~0.25 µs a check); the memo
  // answers a repeated address at once, and normalisation needs its canonical form anyway.
  ajv.addFormat('ipv6', { type: 'string', validate: isIpv6Text });
  ajv.addSchema(socketSchema);
  return {
    'socket-event': ajv.getSchema(socketSchema.$id)!,
    'counters-event': ajv.compile(countersSchema),
    'listening-ports': ajv.compile(listeningPortsSchema),
  };
}

export function describeSchemaErrors(errors: ErrorObject[] | null | undefined): string {
  const e = errors?.[0];
  if (!e) return 'does not match the schema';
  const where = e.instancePath || '(record)';
  const allowed = e.keyword === 'enum' ? ` (${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')})` : '';
  return `${where} ${e.message}${allowed}`;
}
