// The records flowbridge publishes to JetStream for other systems, and their encoding.
// Their shape is documented in schemas/export-record.schema.json (tests check every
// published record against it): one source of truth for readers in any language.
import { Packr } from 'msgpackr';
import type { FlowRecord } from '../model/flow.ts';
import type { StoredAlert } from '../model/alert.ts';
import type { ProcessList } from '../views/process-summary.ts';
import type { ExportFormat } from './settings.ts';

/** Why a flow record was published: a periodic update of a live flow, or its last word when it left the table. */
export type FlowExportReason = 'update' | 'closed' | 'idle' | 'evicted' | 'shutdown';

export interface FlowExportRecord {
  recordType: 'flow';
  node: string;
  interface: string;
  /** 1 for a flow's first record, then one more per record of the same flow. */
  update: number;
  /** The flow's last record: it left the table (closed and past the grace period, idle, evicted, or shutdown). */
  final: boolean;
  reason: FlowExportReason;
  /** Epoch milliseconds. */
  exportedAt: number;
  flow: FlowRecord;
}

export interface AlertExportRecord {
  recordType: 'alert';
  node: string;
  exportedAt: number;
  alert: StoredAlert;
}

export interface ProcessesExportRecord {
  recordType: 'processes';
  node: string;
  exportedAt: number;
  processes: ProcessList;
}

export type ExportRecord = FlowExportRecord | AlertExportRecord | ProcessesExportRecord;

// Plain maps (no msgpackr record extension): any msgpack reader decodes them.
const packr = new Packr({ useRecords: false, moreTypes: false });
const utf8 = new TextEncoder();

export function encodeRecord(record: ExportRecord, format: ExportFormat): Uint8Array {
  return format === 'json' ? utf8.encode(JSON.stringify(record)) : packr.pack(record);
}

/** Reads a record either way (msgpack starts with a map byte, JSON with '{'). */
export function decodeRecord(data: Uint8Array): ExportRecord {
  return (data[0] === 0x7b ? JSON.parse(new TextDecoder().decode(data)) : packr.unpack(data)) as ExportRecord;
}

export { packr as recordPackr };
