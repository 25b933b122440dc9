// The last rejected payloads, kept for operators: what was refused, from whom, why,
// and how it started. A ring of SAMPLE_COUNT, newest first when read.
import type { RejectedSample } from '../model/exporter.ts';
import { MAX_JSON_DEPTH } from './wire/payload.ts';

/** Rejected payloads kept (the most recent). */
export const SAMPLE_COUNT = 32;
/** Characters of a payload kept in its sample. */
const EXCERPT_CHARS = 512;

export class SampleRing {
  readonly #samples: RejectedSample[] = [];
  #next = 0;

  add(sample: RejectedSample): void {
    if (this.#samples.length < SAMPLE_COUNT) this.#samples.push(sample);
    else this.#samples[this.#next] = sample;
    this.#next = (this.#next + 1) % SAMPLE_COUNT;
  }

  /** Newest first. */
  list(): RejectedSample[] {
    const s = this.#samples;
    if (s.length < SAMPLE_COUNT) return [...s].reverse();
    return [...s.slice(0, this.#next).reverse(), ...s.slice(this.#next).reverse()];
  }
}

/** The start of a payload, printable (anything else shown as '.'). */
export function payloadExcerpt(payload: Buffer | undefined): string {
  if (!payload) return '';
  return payload.toString('latin1', 0, Math.min(payload.length, EXCERPT_CHARS)).replace(/[^\x20-\x7e]/g, '.');
}

/**
 * The start of one decoded record as JSON (a payload may hold many records; the
 * sample shows the one refused). Written by hand because JSON.stringify recurses: a
 * record may nest thousands of levels, which JSON.parse accepts without complaint.
 */
export function recordExcerpt(record: unknown): string {
  let out = '';
  const write = (v: unknown, depth: number): void => {
    if (out.length > EXCERPT_CHARS) return;
    if (typeof v !== 'object' || v === null) {
      out += JSON.stringify(v) ?? 'null';
    } else if (depth >= MAX_JSON_DEPTH) {
      out += Array.isArray(v) ? '[...]' : '{...}';
    } else if (Array.isArray(v)) {
      out += '[';
      for (let i = 0; i < v.length && out.length <= EXCERPT_CHARS; i++) {
        if (i > 0) out += ',';
        write(v[i], depth + 1);
      }
      out += ']';
    } else {
      out += '{';
      let first = true;
      for (const [k, x] of Object.entries(v)) {
        if (out.length > EXCERPT_CHARS) break;
        out += `${first ? '' : ','}${JSON.stringify(k)}:`;
        first = false;
        write(x, depth + 1);
      }
      out += '}';
    }
  };
  write(record, 0);
  return payloadExcerpt(Buffer.from(out.slice(0, EXCERPT_CHARS), 'utf8'));
}
