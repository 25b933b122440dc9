// The conditional pcap bench's rows of the table (report.ts) and its notes.
import { ALERTED_FLOWS, CONDITIONAL_OFFER, type ConditionalRow, type ConditionalRun } from './conditional.ts';

/** (b)'s captured share against (a)'s: at least this. */
export const CONDITIONAL_TARGET_RATIO = 0.9;

const rate = (n: number) => (n >= 995_000 ? `${(n / 1e6).toFixed(2)} M` : n >= 10_000 ? `${Math.round(n / 1000)} K` : `${(n / 1000).toFixed(1)} K`);
const pct = (x: number, digits = 1) => `${(100 * x).toFixed(digits)}%`;
const sum = (runs: ConditionalRun[], f: (r: ConditionalRun) => number) => runs.reduce((a, r) => a + f(r), 0);

export interface ConditionalSummary {
  offeredPps: number;
  sentPps: number;
  /** Shares of sent packets the capture counted, over both runs of each configuration. */
  alone: number;
  withConditional: number;
  /** (b)'s share / (a)'s. */
  ratio: number;
  /** CPU µs of the capture process per packet it captured, and the system part. */
  cpuUsAlone: number;
  cpuUsWithConditional: number;
  cpuSystemUsAlone: number;
  cpuSystemUsWithConditional: number;
  cpuRatio: number;
  /** (b): packets and bytes in the store against all captured; the alerted flows' share of sent packets (what the store should hold). */
  storedPacketShare: number;
  storedByteShare: number;
  alertedShareOfSent: number;
  /** (b): packets stored / packets the alerted flows sent. */
  storedOfAlerted: number;
  /** Every run of (b) found the alerted keys in its flow table; files left unclosed; what the store dropped. */
  keysInTable: boolean;
  unclosed: number;
  dropped: Record<string, number>;
}

export function summarise(row: ConditionalRow): ConditionalSummary {
  const a = row.runs.filter((r) => !r.withConditional);
  const b = row.runs.filter((r) => r.withConditional);
  const alone = sum(a, (r) => r.captured) / sum(a, (r) => r.sent);
  const withConditional = sum(b, (r) => r.captured) / sum(b, (r) => r.sent);
  const us = (runs: ConditionalRun[], f: (r: ConditionalRun) => number) => (1e6 * sum(runs, f)) / sum(runs, (r) => r.captured);
  const cpuUsAlone = us(a, (r) => r.cpuSeconds);
  const cpuUsWithConditional = us(b, (r) => r.cpuSeconds);
  const dropped: Record<string, number> = {};
  for (const r of b) for (const [k, n] of Object.entries(r.sink?.store.dropped ?? {})) dropped[k] = (dropped[k] ?? 0) + n;
  return {
    offeredPps: row.offeredPps,
    sentPps: sum(row.runs, (r) => r.sent) / sum(row.runs, (r) => r.sendSeconds),
    alone, withConditional,
    ratio: alone > 0 ? withConditional / alone : 0,
    cpuUsAlone, cpuUsWithConditional,
    cpuSystemUsAlone: us(a, (r) => r.cpuSystemSeconds),
    cpuSystemUsWithConditional: us(b, (r) => r.cpuSystemSeconds),
    cpuRatio: cpuUsAlone > 0 ? cpuUsWithConditional / cpuUsAlone : 0,
    storedPacketShare: sum(b, (r) => r.stored?.packets ?? 0) / sum(b, (r) => r.captured),
    storedByteShare: sum(b, (r) => r.stored?.bytes ?? 0) / sum(b, (r) => r.capturedBytes),
    alertedShareOfSent: sum(b, (r) => r.alertedSent ?? 0) / sum(b, (r) => r.sent),
    storedOfAlerted: sum(b, (r) => r.stored?.packets ?? 0) / sum(b, (r) => r.alertedSent ?? 0),
    keysInTable: b.every((r) => r.keysInTable === true),
    unclosed: sum(b, (r) => r.stored?.unclosed ?? 0),
    dropped,
  };
}

export function conditionalRows(rows: ConditionalRow[]): string[][] {
  return rows.flatMap((row) => {
    const s = summarise(row);
    const asked = `conditional ${rate(s.offeredPps)} pps asked on lo (${rate(s.sentPps)} sent)`;
    return [
      [
        `${asked}: share of sent packets captured, conditional pcap on (1 of ${CONDITIONAL_OFFER.flows} flows alerted)`,
        pct(s.withConditional),
        `capture alone ${pct(s.alone)}`,
        `${s.ratio.toFixed(2)}×`,
        `≥ ${CONDITIONAL_TARGET_RATIO}× capture alone`,
        s.ratio >= CONDITIONAL_TARGET_RATIO ? 'yes' : 'no',
      ],
      [
        `${asked}: capture process CPU per packet, conditional pcap on`,
        `${s.cpuUsWithConditional.toFixed(2)} µs (system ${s.cpuSystemUsWithConditional.toFixed(2)})`,
        `capture alone ${s.cpuUsAlone.toFixed(2)} µs (system ${s.cpuSystemUsAlone.toFixed(2)})`,
        `${s.cpuRatio.toFixed(2)}×`,
        'figure only',
        '-',
      ],
      [
        `${asked}: stored share (store / captured), packets and bytes`,
        `${pct(s.storedPacketShare, 2)} of packets, ${pct(s.storedByteShare, 2)} of bytes`,
        `alerted flows' share of sent ${pct(s.alertedShareOfSent, 2)}`,
        `${s.alertedShareOfSent > 0 ? (s.storedPacketShare / s.alertedShareOfSent).toFixed(2) : 'n/a'}×`,
        `= the alerted flows' share`,
        s.keysInTable && Math.abs(s.storedOfAlerted - 1) < 0.001 ? 'yes' : 'no',
      ],
    ];
  });
}

export function conditionalNotes(rows: ConditionalRow[]): string[] {
  if (rows.length === 0) return [];
  const o = CONDITIONAL_OFFER;
  const notes = [
    `Conditional pcap: ${o.flows} UDP flows of ${o.payload}-byte payloads on lo (127.0.0.1:${o.srcPort}–${o.srcPort + o.flows - 1} → ${o.dstPort}), ${o.seconds} s per run, runs a, b, b, a at each rate; ` +
      'a PacketInterface (a) capturing alone, (b) with its conditional store on (the collector\'s defaults: 16 MiB / 5 s look-back, 64 MiB files) and ' +
      `flow${ALERTED_FLOWS.length > 1 ? 's' : ''} ${ALERTED_FLOWS.map((i) => `:${o.srcPort + i}`).join(', ')} alerted before the traffic (PacketInterface.alertFlows, as ConditionalPcap.matched does), ` +
      'so every other packet goes through the look-back ring. Ratio = (b)\'s share of sent packets captured / (a)\'s. Stored share: packets and bytes (capinfos over the store\'s files) / packets and wire bytes captured; ' +
      'it should equal the alerted flows\' share of sent packets, and the store should hold every packet they sent ("met" = all of them, and the key was a flow of the table). ' +
      'CPU: user + system time of the capture process (/proc/<pid>/stat, every thread) from the first packet sent until the counts settled, per packet it captured.',
  ];
  for (const row of rows) {
    const s = summarise(row);
    const cpu = row.runs.map((r) => `${r.withConditional ? 'b' : 'a'} ${r.captured > 0 ? ((1e6 * r.cpuSeconds) / r.captured).toFixed(2) : 'n/a'}`).join(', ');
    const drops = row.runs.map((r) => `${r.withConditional ? 'b' : 'a'} ${r.kernelDrops ?? 0}`).join(', ');
    const lb = row.runs.filter((r) => r.sink).map((r) => `${r.sink!.lookback.packets} held, ${r.sink!.lookback.evicted} evicted`).join('; ');
    notes.push(
      `  ${rate(s.offeredPps)} pps: stored ${pct(s.storedOfAlerted, 2)} of the alerted flow's sent packets${s.keysInTable ? '' : ' (an alerted key was NOT a flow of the table)'}` +
        `${s.unclosed ? `, ${s.unclosed} files unclosed` : ''}${Object.keys(s.dropped).length ? `, store dropped ${JSON.stringify(s.dropped)}` : ''}; ` +
        `look-back at the end (b) ${lb}; µs/packet per run ${cpu}; kernel drops per run ${drops}.`,
    );
  }
  return notes;
}
