/**
 * The sampling pipeline in one place: validate → plan → noise → start state → run. The sampling
 * job, training previews, the quality bench and the sampler bench call it; the denoiser (a model
 * family adapter around a network, or an oracle) is the caller's.
 */
import type { BatchNoise, Denoiser, Shape, StepInfo } from './types';
import type { Process } from './process';
import { batchNoise } from './rng';
import { planSampler, runPlannedSampler, truncatePlan, validateSamplerSettings, type SamplerRunResult, type SamplerSettings } from './samplers/index';
import { startState, type SamplerPlan } from './samplers/plan';

/** Validated settings and the plan they walk (from `startIndex` on, for image-to-image). */
export function prepareSampler(raw: unknown, process: Process, opts: { field?: string; startIndex?: number } = {}): { settings: SamplerSettings; plan: SamplerPlan } {
  const settings = validateSamplerSettings(raw, process, opts.field);
  const plan = planSampler(settings, process);
  return { settings, plan: opts.startIndex ? truncatePlan(plan, opts.startIndex) : plan };
}

export interface SampleBatchInput {
  denoiser: Denoiser;
  process: Process;
  /** from prepareSampler */
  settings: SamplerSettings;
  plan: SamplerPlan;
  shape: Shape;
  /** the batch's noise, e.g. batchNoise(seeds, valuesPerImage) */
  noise: BatchNoise;
  /** the starting state in plan.space; default startState(plan, noise.initial()) */
  start?: Float32Array;
  onStep?: (info: StepInfo) => void | Promise<void>;
  signal?: AbortSignal;
}

/** Runs one batch; returns x0 in the data scale, the NFE, the plan walked and the start state. */
export async function sampleBatch(o: SampleBatchInput): Promise<SamplerRunResult & { start: Float32Array }> {
  const start = o.start ?? startState(o.plan, o.noise.initial());
  const r = await runPlannedSampler(o.denoiser, start, o.shape, o.settings, o.process, o.plan, { noise: o.noise, onStep: o.onStep, signal: o.signal });
  return { ...r, start };
}

/** prepareSampler + sampleBatch for a batch of seeds with fresh noise (previews, benches). */
export async function sampleSeeds(o: { denoiser: Denoiser; process: Process; sampler: unknown; seeds: readonly number[]; shape: Shape; signal?: AbortSignal }): Promise<SamplerRunResult> {
  const { settings, plan } = prepareSampler(o.sampler, o.process);
  const per = o.shape.slice(1).reduce((a, b) => a * b, 1);
  return sampleBatch({ denoiser: o.denoiser, process: o.process, settings, plan, shape: o.shape, noise: batchNoise(o.seeds, per), signal: o.signal });
}
