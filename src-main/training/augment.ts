/**
 * Non-leaking augmentation for small datasets (Karras et al. 2022, "Elucidating the design space of
 * diffusion-based generative models", §5 and appendix F.2; the transforms and their distributions
 * are those of Karras et al. 2020, "Training generative adversarial networks with limited data",
 * appendix B.1–B.2). Each transform is applied to an image with probability p; the parameters
 * drawn are given to the network as a conditioning vector (`encodeAugment`), and that vector is
 * zero at sampling time, where it means "no transform". The network therefore learns the
 * augmented images as their own, labelled, distribution and is asked for the un-augmented one
 * when sampling: the augmentations do not leak into the samples however strong they are.
 *
 * Transforms (model range [-1, 1], NHWC per image, square S x S):
 *   geometric, one affine map from output pixel to input pixel, bilinear sampling with mirror
 *   padding (positions that land on pixel centres copy pixels exactly):
 *     x-flip, y-flip                    each 0/1 with probability 1/2 when applied
 *     90° rotation                      k ∈ {0, 1, 2, 3}
 *     integer translation               t ∈ round(U(-1/8, 1/8) · S) per axis
 *     isotropic scaling                 2^N(0, 0.2²)
 *     anisotropic scaling               2^N(0, 0.2²) along a uniform angle θ (and its inverse across)
 *   colour, one 3 x 4 affine map of RGB (a matrix times the colour plus an offset):
 *     brightness                        + N(0, 0.2²)
 *     contrast                          × 2^N(0, 0.5²) around mid-grey (0)
 *     saturation                        × 2^N(0, 1) off the grey axis v = (1, 1, 1)/√3:
 *                                       C = v vᵀ + s (I − v vᵀ)
 * All draws come from the counter-based generator (diffusion/rng.ts) at the image's data
 * position, so step k of a run sees the same augmentations however the run got there.
 */
import { normals, uniforms } from '../diffusion/index';

/** Philox streams of the augmentation draws (disjoint from trainer.ts TRAIN_STREAMS). */
export const AUGMENT_STREAMS = { uniform: 2 ** 41 + 32, normal: 2 ** 41 + 33 } as const;
/** draws per image from each stream */
const UNIFORMS_PER_IMAGE = 16;
const NORMALS_PER_IMAGE = 8;

/** Length of the conditioning vector (see encodeAugment). */
export const AUGMENT_DIM = 12;

export interface AugmentParams {
  xflip: 0 | 1;
  yflip: 0 | 1;
  /** quarter turns counter-clockwise */
  rot90: 0 | 1 | 2 | 3;
  /** integer translation in pixels (positive: content moves right / down) */
  tx: number;
  ty: number;
  /** log2 of the isotropic scale */
  logScale: number;
  /** log2 of the anisotropic scale along angle `anisoAngle` (its inverse across it) */
  logAniso: number;
  anisoAngle: number;
  brightness: number;
  /** log2 of the contrast factor */
  logContrast: number;
  /** log2 of the saturation factor */
  logSaturation: number;
}

export const IDENTITY_AUGMENT: Readonly<AugmentParams> = Object.freeze({ xflip: 0, yflip: 0, rot90: 0, tx: 0, ty: 0, logScale: 0, logAniso: 0, anisoAngle: 0, brightness: 0, logContrast: 0, logSaturation: 0 });

/** Whether the parameters transform nothing (then augmentImage copies the image exactly). */
export function isIdentity(a: AugmentParams): boolean {
  return a.xflip === 0 && a.yflip === 0 && a.rot90 === 0 && a.tx === 0 && a.ty === 0 && a.logScale === 0 && a.logAniso === 0 && a.brightness === 0 && a.logContrast === 0 && a.logSaturation === 0;
}

/**
 * The parameters for the image at data position `pos` of a run seeded `seed`, each transform
 * applied with probability `p` (0 ≤ p ≤ 1; 0 draws the identity).
 */
export function drawAugment(seed: number, pos: number, p: number, size: number): AugmentParams {
  if (!(p >= 0 && p <= 1)) throw new Error(`augment probability must be in [0, 1], got ${p}`);
  if (p === 0) return { ...IDENTITY_AUGMENT };
  const u = uniforms(seed, AUGMENT_STREAMS.uniform, UNIFORMS_PER_IMAGE, pos * UNIFORMS_PER_IMAGE);
  const n = normals(seed, AUGMENT_STREAMS.normal, NORMALS_PER_IMAGE, pos * NORMALS_PER_IMAGE);
  const on = (i: number) => u[i] < p;
  const maxShift = size / 8;
  return {
    xflip: on(0) && u[1] < 0.5 ? 1 : 0,
    yflip: on(2) && u[3] < 0.5 ? 1 : 0,
    rot90: on(4) ? (Math.min(3, Math.floor(u[5] * 4)) as 0 | 1 | 2 | 3) : 0,
    tx: on(6) ? Math.round((u[7] * 2 - 1) * maxShift) || 0 : 0,
    ty: on(6) ? Math.round((u[8] * 2 - 1) * maxShift) || 0 : 0,
    logScale: on(9) ? 0.2 * n[0] : 0,
    logAniso: on(10) ? 0.2 * n[1] : 0,
    anisoAngle: on(10) ? (u[11] * 2 - 1) * Math.PI : 0,
    brightness: on(12) ? 0.2 * n[2] : 0,
    logContrast: on(13) ? 0.5 * n[3] : 0,
    logSaturation: on(14) ? 1 * n[4] : 0,
  };
}

/**
 * The conditioning vector of a draw: zero exactly for the identity, each entry continuous in its
 * parameter (angles through sin/cos so a quarter turn and its neighbours are close; the aniso
 * angle doubled, since scaling along θ and θ + π is the same map).
 */
export function encodeAugment(a: AugmentParams, size: number): Float32Array {
  // (sin, cos − 1) of the quarter-turn angle, exact
  const [rotSin, rotCos] = ([[0, 0], [1, -1], [0, -2], [-1, -1]] as const)[a.rot90];
  return Float32Array.from([
    a.xflip,
    a.yflip,
    rotSin,
    rotCos,
    a.tx / size,
    a.ty / size,
    a.logScale,
    a.logAniso * Math.cos(2 * a.anisoAngle),
    a.logAniso * Math.sin(2 * a.anisoAngle),
    a.brightness,
    a.logContrast,
    a.logSaturation,
  ]);
}

/** 2 x 3 affine map [a b c; d e f]: (x, y) -> (a x + b y + c, d x + e y + f). */
type Affine = [number, number, number, number, number, number];

const mul = (m: Affine, n: Affine): Affine => [
  m[0] * n[0] + m[1] * n[3],
  m[0] * n[1] + m[1] * n[4],
  m[0] * n[2] + m[1] * n[5] + m[2],
  m[3] * n[0] + m[4] * n[3],
  m[3] * n[1] + m[4] * n[4],
  m[3] * n[2] + m[4] * n[5] + m[5],
];

/**
 * The map from output pixel (x, y) to the input position it samples (pixel centres at integers,
 * y down). The forward transform (input -> output) is T = translate · rot90 · flips · scale ·
 * aniso about the image centre; sampling needs its inverse, composed here in reverse order from
 * each piece's inverse.
 */
export function inverseMap(a: AugmentParams, size: number): Affine {
  const c = (size - 1) / 2;
  let m: Affine = [1, 0, -c, 0, 1, -c]; // to centred coordinates
  m = mul([1, 0, -a.tx, 0, 1, -a.ty], m); // undo translation
  // undo k quarter turns counter-clockwise on screen (y down): a turn maps (x, y) -> (y, -x)
  for (let k = 0; k < a.rot90; k++) m = mul([0, -1, 0, 1, 0, 0], m);
  if (a.xflip) m = mul([-1, 0, 0, 0, 1, 0], m);
  if (a.yflip) m = mul([1, 0, 0, 0, -1, 0], m);
  if (a.logScale !== 0) {
    const s = Math.pow(2, -a.logScale);
    m = mul([s, 0, 0, 0, s, 0], m);
  }
  if (a.logAniso !== 0) {
    const s = Math.pow(2, -a.logAniso);
    const co = Math.cos(a.anisoAngle);
    const si = Math.sin(a.anisoAngle);
    // R(θ) diag(s, 1/s) R(-θ)
    m = mul([co * co * s + (si * si) / s, co * si * (s - 1 / s), 0, co * si * (s - 1 / s), si * si * s + (co * co) / s, 0], m);
  }
  return mul([1, 0, c, 0, 1, c], m); // back to pixel coordinates
}

/** Mirror an index into [0, n) without repeating the edge pixel (-1 -> 1, n -> n - 2). */
function mirror(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let j = i % period;
  if (j < 0) j += period;
  return j < n ? j : period - j;
}

/** 3 x 4 colour map: rgb' = M rgb + o (rows of M then o). */
export function colourMap(a: AugmentParams): { m: number[]; o: number } {
  const c = Math.pow(2, a.logContrast);
  const s = Math.pow(2, a.logSaturation);
  // saturation: v vᵀ + s (I − v vᵀ), v vᵀ = 1/3 everywhere
  const off = (1 - s) / 3;
  const diag = s + off;
  const m = [diag, off, off, off, diag, off, off, off, diag].map((v) => v * c);
  return { m, o: a.brightness * c };
}

/**
 * Applies `a` to one image (model range, NHWC, size x size x channels) into a new array of the
 * same precision. Colour
 * transforms need RGB (channels 3); with other channel counts only the geometric ones apply.
 */
export function augmentImage<T extends Float32Array | Float64Array>(src: T, size: number, channels: number, a: AugmentParams): T {
  if (src.length !== size * size * channels) throw new Error(`augmentImage: ${src.length} values for a ${size}x${size}x${channels} image`);
  if (isIdentity(a)) return src.slice() as T;
  const out = (src instanceof Float64Array ? new Float64Array(src.length) : new Float32Array(src.length)) as T;
  const [ma, mb, mc, md, me, mf] = inverseMap(a, size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const sx = ma * x + mb * y + mc;
      const sy = md * x + me * y + mf;
      // snap positions within float error of a pixel centre, so integer maps copy exactly
      const rx = Math.round(sx);
      const ry = Math.round(sy);
      const px = Math.abs(sx - rx) < 1e-9 ? rx : sx;
      const py = Math.abs(sy - ry) < 1e-9 ? ry : sy;
      const x0 = Math.floor(px);
      const y0 = Math.floor(py);
      const fx = px - x0;
      const fy = py - y0;
      const dst = (y * size + x) * channels;
      const i00 = (mirror(y0, size) * size + mirror(x0, size)) * channels;
      if (fx === 0 && fy === 0) {
        for (let ch = 0; ch < channels; ch++) out[dst + ch] = src[i00 + ch];
        continue;
      }
      const i01 = (mirror(y0, size) * size + mirror(x0 + 1, size)) * channels;
      const i10 = (mirror(y0 + 1, size) * size + mirror(x0, size)) * channels;
      const i11 = (mirror(y0 + 1, size) * size + mirror(x0 + 1, size)) * channels;
      for (let ch = 0; ch < channels; ch++) {
        const top = src[i00 + ch] * (1 - fx) + src[i01 + ch] * fx;
        const bottom = src[i10 + ch] * (1 - fx) + src[i11 + ch] * fx;
        out[dst + ch] = top * (1 - fy) + bottom * fy;
      }
    }
  }
  if (channels === 3 && (a.brightness !== 0 || a.logContrast !== 0 || a.logSaturation !== 0)) {
    const { m, o } = colourMap(a);
    for (let i = 0; i < out.length; i += 3) {
      const r = out[i];
      const g = out[i + 1];
      const b = out[i + 2];
      out[i] = m[0] * r + m[1] * g + m[2] * b + o;
      out[i + 1] = m[3] * r + m[4] * g + m[5] * b + o;
      out[i + 2] = m[6] * r + m[7] * g + m[8] * b + o;
    }
  }
  return out;
}
