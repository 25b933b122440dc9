// API tokens: "fbt_<id>_<32 random bytes, base64url>", shown once; only the SHA-256 of
// the whole token is kept. The id (not secret) finds the stored hash, compared in
// constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const FORMAT = /^fbt_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$/;

export const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

export function newToken(): { id: string; token: string; sha256: string } {
  const id = randomBytes(6).toString('hex');
  const token = `fbt_${id}_${randomBytes(32).toString('base64url')}`;
  return { id, token, sha256: sha256(token) };
}

/** The id inside a token of ours, or undefined for anything else. */
export const tokenId = (token: string): string | undefined => FORMAT.exec(token)?.[1];

/** Constant-time comparison of a given secret with a stored SHA-256 (hex). */
export function matchesHash(given: string, storedSha256: string): boolean {
  const a = Buffer.from(sha256(given), 'hex');
  const b = Buffer.from(storedSha256, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
