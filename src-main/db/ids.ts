import { randomBytes } from 'node:crypto';
import type { IdPrefix } from '../api/ids';

// The id syntax (one regex, one check) lives beside the contract, which validates ids too.
export { ID_RE, isId, type IdPrefix } from '../api/ids';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/** Short prefixed ids (`ds_…`, `run_…`): 10 base-36 characters, about 51 bits of randomness. */
export function newId(prefix: IdPrefix): string {
  const bytes = randomBytes(10);
  let s = '';
  for (const b of bytes) s += ALPHABET[b % 36];
  return `${prefix}_${s}`;
}
