// Canonical text of the addresses seen on the wire, remembered. Producers repeat the
// same few addresses over and over, and canonicalising IPv6 text costs about 1 µs
// (the schema's ipv6 format check about 0.25 µs more): once per distinct address is enough.
import { canonicalIp } from '../../model/address.ts';

/** Distinct addresses remembered; past this the memo starts over (a bound, not an LRU: cheap either way). */
export const ADDRESS_MEMO_SIZE = 8192;

const memo = new Map<string, string | null>();

/** canonicalIp, remembered: the canonical form, or undefined when `text` is no IP address. */
export function canonicalAddress(text: string): string | undefined {
  let canonical = memo.get(text);
  if (canonical === undefined) {
    canonical = canonicalIp(text) ?? null;
    if (memo.size >= ADDRESS_MEMO_SIZE) memo.clear();
    memo.set(text, canonical);
  }
  return canonical ?? undefined;
}

/**
 * The schemas' `ipv6` format: text that is an IPv6 address. A zone id (`fe80::1%eth0`)
 * is refused, as by ajv-formats: it names an interface of the producer's host, which
 * means nothing here, and would be lost in canonical form.
 */
export function isIpv6Text(text: string): boolean {
  return text.includes(':') && !text.includes('%') && canonicalAddress(text) !== undefined;
}
