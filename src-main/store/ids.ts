import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/** Short prefixed ids (`ds_…`, `run_…`): 10 base-36 characters, about 51 bits of randomness. */
export function newId(prefix: 'ds' | 'item' | 'run' | 'ckpt' | 'smp' | 'job' | 'col' | 'model' | 'grid' | 'preset'): string {
  const bytes = randomBytes(10);
  let s = '';
  for (const b of bytes) s += ALPHABET[b % 36];
  return `${prefix}_${s}`;
}
