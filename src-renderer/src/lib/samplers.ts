import type { SamplerName, SamplerOptions } from '../../../src-main/api/types';

/** One line per sampler for the picker, and which options each takes (a subset of the contract's). */
export const SAMPLER_INFO: Record<SamplerName, { label: string; blurb: string; options: (keyof SamplerOptions)[]; steps: boolean }> = {
  'dpmpp-2m': { label: 'DPM-Solver++ 2M', blurb: 'Second-order multistep solver: the best images at 10–25 steps.', options: ['sigmas', 'rho'], steps: true },
  ddim: { label: 'DDIM', blurb: 'Deterministic shortcut of DDPM; solid at 20–50 steps. eta > 0 adds fresh noise.', options: ['eta', 'spacing'], steps: true },
  euler: { label: 'Euler', blurb: 'One ODE step per evaluation in sigma space; simple, wants 30+ steps.', options: ['sigmas', 'rho'], steps: true },
  'euler-ancestral': { label: 'Euler ancestral', blurb: 'Euler plus fresh noise each step: more variety, never fully settles.', options: ['eta', 'sigmas'], steps: true },
  heun: { label: 'Heun (EDM)', blurb: 'Second-order, two evaluations per step; crisp at 15–30 steps. Churn adds noise.', options: ['churn', 'sigmas', 'rho'], steps: true },
  ddpm: { label: 'DDPM', blurb: 'The original ancestral sampler; needs hundreds of steps.', options: ['variance', 'spacing'], steps: true },
  pc: { label: 'Predictor–corrector', blurb: 'Reverse SDE plus Langevin corrections (Song 2021); slow, for SDE-trained models.', options: ['snr', 'correctorSteps', 'sigmas'], steps: true },
  'pf-ode': { label: 'Probability-flow ODE', blurb: 'Adaptive RK45 on the probability-flow ODE; picks its own step sizes.', options: ['rtol', 'atol'], steps: false },
};

export const SAMPLER_ORDER: SamplerName[] = ['dpmpp-2m', 'ddim', 'euler', 'euler-ancestral', 'heun', 'ddpm', 'pc', 'pf-ode'];

export const OPTION_DEFAULTS: Required<SamplerOptions> = {
  eta: 0,
  spacing: 'leading',
  sigmas: 'karras',
  rho: 7,
  churn: 0,
  snr: 0.16,
  correctorSteps: 1,
  variance: 'beta-tilde',
  rtol: 1e-4,
  atol: 1e-4,
};

export const OPTION_HELP: Record<keyof SamplerOptions, string> = {
  eta: 'Noise re-injected each step (0 = deterministic).',
  spacing: 'Which training timesteps the steps land on.',
  sigmas: 'Noise levels to walk: Karras spaces them toward low noise.',
  rho: 'Karras spacing exponent (7 is EDM’s).',
  churn: 'EDM stochasticity S_churn (0 = deterministic).',
  snr: 'Langevin corrector signal-to-noise ratio.',
  correctorSteps: 'Langevin steps per noise level.',
  variance: 'DDPM reverse variance: beta-tilde (posterior) or beta.',
  rtol: 'Relative tolerance of the adaptive solver.',
  atol: 'Absolute tolerance of the adaptive solver.',
};
