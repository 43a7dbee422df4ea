/**
 * 8-bit image likelihoods (bits/dim of the discrete pixel values):
 * - PF-ODE with uniform dequantisation (Theis et al. 2016; Song et al. 2021 App. D.2): y = 2 (k + u)/256 - 1,
 *   u ~ U(0, 1); -log P(k) <= E_u[-log p(y)] - d log(2/256), i.e. +7 bits/dim on top of the
 *   continuous bits/dim of y. One u per pixel from uniforms(seed, RESERVED_STREAMS.dequantisation).
 * - VLB with the discretised Gaussian decoder (Ho et al. 2020 eq. 13) on x0 = 2k/255 - 1.
 */
import type { Denoiser, Shape } from '../types';
import { DiffusionConfigError } from '../types';
import { RESERVED_STREAMS, uniforms } from '../rng';
import { pfOdeLikelihood, summarise, type LikelihoodResult, type PfOdeLikelihoodOptions } from './pf-ode';
import { vlbLikelihood, type VlbOptions } from './vlb';

function checkBytes(x: Uint8Array, shape: Shape): void {
  if (!(x instanceof Uint8Array)) throw new DiffusionConfigError('x', '8-bit likelihoods take a Uint8Array of pixel values 0..255');
  if (shape.reduce((a, b) => a * b, 1) !== x.length) throw new DiffusionConfigError('shape', `shape [${shape.join(', ')}] does not match ${x.length} values`);
}

/** Uniformly dequantised data in [-1, 1]: 2 (k + u) / 256 - 1. */
export function dequantise(x: Uint8Array, seed = 0): Float64Array {
  const u = uniforms(seed, RESERVED_STREAMS.dequantisation, x.length);
  return Float64Array.from(x, (k, i) => (2 * (k + u[i])) / 256 - 1);
}

/** Pixel levels to the model's [-1, 1] scale, 2k/255 - 1 (Ho et al.). */
export function bytesToCentered(x: Uint8Array): Float64Array {
  return Float64Array.from(x, (k) => (2 * k) / 255 - 1);
}

export async function pfOdeLikelihood8bit(
  denoiser: Denoiser,
  x: Uint8Array,
  shape: Shape,
  opts: PfOdeLikelihoodOptions & { dequantSeed?: number },
): Promise<LikelihoodResult> {
  checkBytes(x, shape);
  const r = await pfOdeLikelihood(denoiser, dequantise(x, opts.dequantSeed ?? opts.seed ?? 0), shape, opts);
  const d = x.length / shape[0];
  // -log P(k) <= -log p(y) - d log(2/256) = -log p(y) + d log 128
  const nll = r.nll.map((v) => v + d * Math.log(128));
  return summarise(nll, d, r.nfe);
}

export async function vlbLikelihood8bit(denoiser: Denoiser, x: Uint8Array, shape: Shape, opts: Omit<VlbOptions, 'discrete8bit'>): Promise<LikelihoodResult> {
  checkBytes(x, shape);
  return vlbLikelihood(denoiser, bytesToCentered(x), shape, { ...opts, discrete8bit: true });
}
