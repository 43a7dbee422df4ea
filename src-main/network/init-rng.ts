/**
 * The seeded draws of weight initialisation (unet.ts, lora.ts): one stream per tensor, keyed by
 * (seed, tensor name), so a tensor's initial values do not depend on which other tensors exist.
 */

/** 32-bit FNV-1a hash of a string (Fowler–Noll–Vo). */
export function fnv1a(s: string, h = 0x811c9dc5): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32 (Tommy Ettinger): a small 32-bit PRNG, good enough for weight initialisation. */
export function mulberry32(a: number): () => number {
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

/** The uniform stream of tensor `name` under `seed`. */
export function tensorStream(name: string, seed: number): () => number {
  return mulberry32(fnv1a(name, fnv1a(String(seed >>> 0))));
}
