/**
 * Seeded, counter-based noise (docs/design-notes.md §Randomness).
 *
 * Generator: Philox 4x32-10 (Salmon, Moraes, Dror, Shaw 2011, "Parallel random numbers: as easy as
 * 1, 2, 3", SC'11, §4.1 and Random123's philox4x32 with 10 rounds). A counter of four 32-bit words
 * and a key of two 32-bit words map to four 32-bit outputs; no state, so any number can be computed
 * directly from its coordinates, identically on every machine (only 32-bit integer ops + IEEE
 * double maths that V8 computes with fdlibm).
 *
 * Normals: Box–Muller (Box & Muller 1958) in float64, rounded to float32.
 *   One Philox block (4 x uint32) -> two uniforms with 53 random bits each, in the open interval (0, 1):
 *     u1 = ((w0 >>> 5) * 2^26 + (w1 >>> 6) + 0.5) / 2^53,   u2 = same with (w2, w3)
 *   -> z0 = sqrt(-2 ln u1) cos(2 pi u2),  z1 = sqrt(-2 ln u1) sin(2 pi u2).
 *
 * Coordinates of a number `normal(seed, stream, index)`:
 *   key     = [seed mod 2^32, floor(seed / 2^32)]                  (seed: integer in [0, 2^53))
 *   counter = [block mod 2^32, floor(block / 2^32), stream mod 2^32, floor(stream / 2^32)]
 *   with block = floor(index / 2); index even -> z0, index odd -> z1.
 *
 * STREAM LAYOUT (per image, i.e. per seed; index = flat position inside the image, C*H*W order):
 *   stream 0                         starting noise x_T (or the initial sigma-scale noise)
 *   stream 1 + 256 * step + draw     the draw-th noise of sampler step `step` (0-based)
 *                                    (ancestral noise = draw 0; churn, Langevin corrector and other
 *                                    extra draws use draw 1, 2, ...; at most 256 draws per step)
 *   streams >= 2^40                  reserved for other uses (bench projections, Hutchinson probes,
 *                                    dequantisation), see RESERVED_STREAMS.
 * Image b of a batch uses seeds[b] and the same per-image indices, so image b reproduces alone with
 * its own seed whatever the batch composition.
 */
import type { BatchNoise } from './types';
import { DiffusionConfigError } from './types';

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
const TWO32 = 4294967296;

/** High 32 bits of the 64-bit product of two uint32 (exact, via 16-bit limbs). */
function mulhi32(a: number, b: number): number {
  const al = a & 0xffff;
  const ah = a >>> 16;
  const bl = b & 0xffff;
  const bh = b >>> 16;
  const ll = al * bl;
  const lh = al * bh;
  const hl = ah * bl;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (ah * bh + Math.floor(lh / 65536) + Math.floor(hl / 65536) + Math.floor(mid / 65536)) >>> 0;
}

/**
 * Philox 4x32-10 bijection: counter [c0..c3], key [k0, k1] -> four uint32 written to `out`.
 * One round (Salmon et al. 2011, §4.1): (hi0,lo0) = M0*c0, (hi1,lo1) = M1*c2,
 * c' = [hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0]; the key is bumped by the Weyl constants W0, W1.
 */
export function philox4x32(
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  k0: number,
  k1: number,
  out: Uint32Array = new Uint32Array(4),
): Uint32Array {
  let x0 = c0 >>> 0;
  let x1 = c1 >>> 0;
  let x2 = c2 >>> 0;
  let x3 = c3 >>> 0;
  let key0 = k0 >>> 0;
  let key1 = k1 >>> 0;
  for (let r = 0; r < 10; r++) {
    if (r > 0) {
      key0 = (key0 + W0) >>> 0;
      key1 = (key1 + W1) >>> 0;
    }
    const hi0 = mulhi32(M0, x0);
    const lo0 = Math.imul(M0, x0) >>> 0;
    const hi1 = mulhi32(M1, x2);
    const lo1 = Math.imul(M1, x2) >>> 0;
    x0 = (hi1 ^ x1 ^ key0) >>> 0;
    x1 = lo1;
    x2 = (hi0 ^ x3 ^ key1) >>> 0;
    x3 = lo0;
  }
  out[0] = x0;
  out[1] = x1;
  out[2] = x2;
  out[3] = x3;
  return out;
}

/** Streams from 2^40 on are reserved for non-sampler uses (never produced by stepStream). */
export const RESERVED_STREAMS = {
  /** sliced-Wasserstein projection directions in the sampler bench */
  benchProjections: 2 ** 40,
  /** fresh reference draws from the mixture in the sampler bench */
  benchReference: 2 ** 40 + 1,
  /** Hutchinson probes (likelihood) */
  hutchinson: 2 ** 40 + 2,
  /** uniform dequantisation noise (likelihood on 8-bit data) */
  dequantisation: 2 ** 40 + 3,
  /** data draws for Monte Carlo estimates (likelihood bench) */
  data: 2 ** 40 + 4,
  /** mixture component choices */
  components: 2 ** 40 + 5,
} as const;

export const MAX_DRAWS_PER_STEP = 256;

/** Stream of the initial noise. */
export const INITIAL_STREAM = 0;

/** Stream of the `draw`-th noise of sampler step `step` (see the layout in the header). */
export function stepStream(step: number, draw = 0): number {
  if (!Number.isInteger(step) || step < 0) throw new DiffusionConfigError('step', `step must be an integer >= 0, got ${step}`);
  if (!Number.isInteger(draw) || draw < 0 || draw >= MAX_DRAWS_PER_STEP) {
    throw new DiffusionConfigError('draw', `draw must be an integer in [0, ${MAX_DRAWS_PER_STEP}), got ${draw}`);
  }
  return 1 + MAX_DRAWS_PER_STEP * step + draw;
}

function checkSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 53) {
    throw new DiffusionConfigError('seed', `seed must be an integer in [0, 2^53), got ${seed}`);
  }
}

const TWO_PI = 2 * Math.PI;
const INV_TWO53 = 1 / 9007199254740992;

/** Uniform in (0,1) with 53 random bits from two uint32 words. */
function u53(hi: number, lo: number): number {
  return ((hi >>> 5) * 67108864 + (lo >>> 6) + 0.5) * INV_TWO53;
}

/**
 * Fill `out[offset .. offset+count)` with standard normals normal(seed, stream, start + j), in float32.
 * Float64 values are produced by `fillNormal64`.
 */
export function fillNormal(
  out: Float32Array | Float64Array,
  seed: number,
  stream: number,
  start = 0,
  count = out.length,
  offset = 0,
): void {
  checkSeed(seed);
  if (!Number.isInteger(stream) || stream < 0 || stream >= 2 ** 53) {
    throw new DiffusionConfigError('stream', `stream must be an integer in [0, 2^53), got ${stream}`);
  }
  const k0 = seed % TWO32;
  const k1 = Math.floor(seed / TWO32);
  const s0 = stream % TWO32;
  const s1 = Math.floor(stream / TWO32);
  const w = new Uint32Array(4);
  const f32 = out instanceof Float32Array;
  let j = 0;
  let index = start;
  while (j < count) {
    const block = Math.floor(index / 2);
    philox4x32(block % TWO32, Math.floor(block / TWO32), s0, s1, k0, k1, w);
    const r = Math.sqrt(-2 * Math.log(u53(w[0], w[1])));
    const a = TWO_PI * u53(w[2], w[3]);
    if (index % 2 === 0) {
      const z0 = r * Math.cos(a);
      out[offset + j] = f32 ? Math.fround(z0) : z0;
      j++;
      index++;
      if (j >= count) break;
    }
    const z1 = r * Math.sin(a);
    out[offset + j] = f32 ? Math.fround(z1) : z1;
    j++;
    index++;
  }
}

/** `count` standard normals normal(seed, stream, start ...), float32. */
export function normals(seed: number, stream: number, count: number, start = 0): Float32Array {
  const out = new Float32Array(count);
  fillNormal(out, seed, stream, start, count, 0);
  return out;
}

/** One standard normal at the given coordinates (float32-rounded, as in every array). */
export function normal(seed: number, stream: number, index: number): number {
  const out = new Float32Array(1);
  fillNormal(out, seed, stream, index, 1, 0);
  return out[0];
}

/**
 * `count` uniforms in (0, 1) (float64, 53 bits) at uniform(seed, stream, start + j): one per Philox
 * block, from words (w0, w1) of counter block = start + j. Used for dequantisation, Rademacher
 * probes and mixture component choices.
 */
export function uniforms(seed: number, stream: number, count: number, start = 0): Float64Array {
  checkSeed(seed);
  const k0 = seed % TWO32;
  const k1 = Math.floor(seed / TWO32);
  const s0 = stream % TWO32;
  const s1 = Math.floor(stream / TWO32);
  const w = new Uint32Array(4);
  const out = new Float64Array(count);
  for (let j = 0; j < count; j++) {
    const block = start + j;
    philox4x32(block % TWO32, Math.floor(block / TWO32), s0, s1, k0, k1, w);
    out[j] = u53(w[0], w[1]);
  }
  return out;
}

/**
 * Inverted-dropout mask (Srivastava et al. 2014, scaled by 1/(1-p) as in torch.nn.Dropout):
 * element i is 0 with probability `p`, else 1/(1-p). Four elements per Philox block (one 32-bit
 * word each: dropped when the word < p·2^32), block = start + ⌊i/4⌋, so masks are 4x cheaper than
 * uniform() draws and a pure function of (seed, stream, position).
 */
export function dropoutMask(seed: number, stream: number, count: number, p: number, start = 0): Float32Array {
  checkSeed(seed);
  if (!(p >= 0 && p < 1)) throw new DiffusionConfigError('dropout', `dropout probability must be in [0, 1), got ${p}`);
  const k0 = seed % TWO32;
  const k1 = Math.floor(seed / TWO32);
  const s0 = stream % TWO32;
  const s1 = Math.floor(stream / TWO32);
  const threshold = p * TWO32;
  const keep = 1 / (1 - p);
  const w = new Uint32Array(4);
  const out = new Float32Array(count);
  for (let j = 0; j < count; j += 4) {
    const block = start + j / 4;
    philox4x32(block % TWO32, Math.floor(block / TWO32), s0, s1, k0, k1, w);
    const n = Math.min(4, count - j);
    for (let q = 0; q < n; q++) out[j + q] = w[q] < threshold ? 0 : keep;
  }
  return out;
}

/**
 * Noise for a batch: image b uses seeds[b]; each image has `perImageSize` numbers (C*H*W).
 * initial() -> stream 0; step(s, d) -> stream stepStream(s, d). Arrays are B*perImageSize long.
 */
export function batchNoise(seeds: readonly number[], perImageSize: number): BatchNoise {
  if (!Number.isInteger(perImageSize) || perImageSize < 1) {
    throw new DiffusionConfigError('perImageSize', `perImageSize must be a positive integer, got ${perImageSize}`);
  }
  if (seeds.length < 1) throw new DiffusionConfigError('seeds', 'give at least one seed (one per image)');
  seeds.forEach(checkSeed);
  const fillStream = (stream: number): Float32Array => {
    const out = new Float32Array(seeds.length * perImageSize);
    for (let b = 0; b < seeds.length; b++) fillNormal(out, seeds[b], stream, 0, perImageSize, b * perImageSize);
    return out;
  };
  return {
    initial: () => fillStream(INITIAL_STREAM),
    step: (step: number, draw = 0) => fillStream(stepStream(step, draw)),
  };
}

/** Seeds seed, seed+1, ..., seed+count-1: the convention for "count images from one seed". */
export function consecutiveSeeds(seed: number, count: number): number[] {
  checkSeed(seed);
  checkSeed(seed + count - 1);
  return Array.from({ length: count }, (_, i) => seed + i);
}
