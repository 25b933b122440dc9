// Alert test helpers: the fixture record, EVE records built for flows the tests make.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { EveRecord } from '../../src/model/alert.ts';

export const EVE_ALERT_LINE = readFileSync(fileURLToPath(new URL('../fixtures/alerts/suricata-eve-alert.json', import.meta.url)), 'utf8').trim();

export function eveAlert(fields: Partial<EveRecord> = {}): EveRecord {
  return { ...(JSON.parse(EVE_ALERT_LINE) as EveRecord), ...fields };
}

/** One record per line, as eve.json holds them. */
export const lines = (...records: object[]): string => records.map((r) => `${JSON.stringify(r)}\n`).join('');
