/**
 * `sfumato bench samplers`: run each sampler of a spec on the Gaussian-mixture oracle (exact
 * denoiser) from the same starting noise and measure how close the samples are to the mixture.
 * Pure: the CLI reads the spec / initNoise file and writes OUT.json and the dumps.
 */
import { DiffusionConfigError } from '../types';
import { GaussianMixture } from '../oracle';
import { makeProcess } from '../process';
import { batchNoise, consecutiveSeeds, RESERVED_STREAMS } from '../rng';
import { startState, type SamplerSettings } from '../samplers/index';
import { prepareSampler, sampleBatch } from '../pipeline';
import { rmsDiff, sampleMoments, slicedWasserstein } from './metrics';
import type { SamplerBenchSpec } from './spec';

export interface SamplerBenchResult {
  name: string;
  steps: number;
  options: Record<string, unknown>;
  nfe: number;
  wallMs: number;
  swd: number;
  meanErr: number;
  stdErr: number;
  space: 'vp' | 've';
  alphasCumprod: number[] | null;
  sigmas: number[] | null;
  t: number[] | null;
  /** file names (relative to the dump folder) of the n x D float32 LE arrays */
  start: string;
  final: string;
}

export interface SamplerBenchOutput {
  results: SamplerBenchResult[];
}

export function dumpName(index: number, name: string, which: 'start' | 'final'): string {
  return `${String(index).padStart(2, '0')}-${name}-${which}.f32`;
}

/** Float32 array -> little-endian bytes (what the dump files hold). */
export function float32ToLeBytes(a: Float32Array): Uint8Array {
  const out = new Uint8Array(a.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) dv.setFloat32(i * 4, a[i], true);
  return out;
}

/** Little-endian bytes -> Float32Array (for reading initNoise files). */
export function leBytesToFloat32(bytes: Uint8Array): Float32Array {
  if (bytes.length % 4 !== 0) throw new DiffusionConfigError('initNoise', `the initNoise file has ${bytes.length} bytes, not a multiple of 4 (float32)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = dv.getFloat32(i * 4, true);
  return out;
}

export async function runSamplerBench(
  spec: SamplerBenchSpec,
  opts: { initNoise?: Float32Array; signal?: AbortSignal; onResult?: (r: SamplerBenchResult, index: number) => void } = {},
): Promise<{ out: SamplerBenchOutput; dumps: Map<string, Float32Array> }> {
  const mixture = new GaussianMixture(spec.mixture);
  const process = makeProcess(spec.schedule);
  const { n, seed } = spec;
  const D = mixture.D;
  const shape = [n, D];
  const noise = batchNoise(consecutiveSeeds(seed, n), D);
  let base: Float32Array;
  if (opts.initNoise) {
    if (opts.initNoise.length !== n * D) {
      throw new DiffusionConfigError('initNoise', `initNoise holds ${opts.initNoise.length} values but n x D = ${n} x ${D} = ${n * D}`);
    }
    if (!opts.initNoise.every(Number.isFinite)) throw new DiffusionConfigError('initNoise', 'initNoise contains non-finite values');
    base = opts.initNoise;
  } else base = noise.initial();
  const reference = mixture.sample(n, seed, RESERVED_STREAMS.benchReference);
  const truth = mixture.moments();
  const trueStd = truth.variance.map(Math.sqrt);
  const denoiser = mixture.denoiser();
  const results: SamplerBenchResult[] = [];
  const dumps = new Map<string, Float32Array>();
  for (let idx = 0; idx < spec.samplers.length; idx++) {
    const settings: SamplerSettings = spec.samplers[idx];
    const { plan } = prepareSampler(settings, process);
    const start = startState(plan, base);
    const t0 = Date.now();
    const run = await sampleBatch({ denoiser, process, settings, plan, shape, noise, start, signal: opts.signal });
    const wallMs = Date.now() - t0;
    const m = sampleMoments(run.x, D);
    const { name, steps, ...options } = settings;
    const startFile = dumpName(idx, name, 'start');
    const finalFile = dumpName(idx, name, 'final');
    dumps.set(startFile, start);
    dumps.set(finalFile, run.x);
    const r: SamplerBenchResult = {
      name,
      steps: steps ?? (run.plan.sigmas ? run.plan.sigmas.length - 1 : 0),
      options,
      nfe: run.nfe,
      wallMs,
      swd: slicedWasserstein(run.x, reference, D, seed),
      meanErr: rmsDiff(m.mean, truth.mean),
      stdErr: rmsDiff(m.std, trueStd),
      space: run.plan.space,
      alphasCumprod: run.plan.alphasCumprod,
      sigmas: run.plan.sigmas,
      t: run.plan.t,
      start: startFile,
      final: finalFile,
    };
    results.push(r);
    opts.onResult?.(r, idx);
  }
  return { out: { results }, dumps };
}
