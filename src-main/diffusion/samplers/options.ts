/**
 * Options shared by several samplers, declared once and spread into their descriptors. A sampler
 * that needs another default spreads and overrides (`{ ...ETA, default: 1 }`); type, bounds and
 * recipe bounds stay the same everywhere a key is used (the sampler harness test checks that).
 */
import { SIGMA_KINDS } from '../schedules/sigmas';
import { TIMESTEP_SPACINGS } from '../schedules/spacing';
import type { ChoiceOption, NumberOption } from './descriptor';

export const STEPS = {
  type: 'int',
  min: 1,
  max: 100000,
  label: 'Steps',
  help: 'Denoising steps: more is slower and usually cleaner.',
  required: true,
} as const satisfies NumberOption;

export const ETA = {
  type: 'number',
  default: 0,
  min: 0,
  recipe: { min: 0, max: 1 },
  label: 'Noise per step (eta)',
  help: 'Fresh noise added back each step: 0 is deterministic, 1 is fully ancestral.',
} as const satisfies NumberOption;

export const SPACING = {
  type: 'choice',
  choices: TIMESTEP_SPACINGS,
  default: 'leading',
  recipe: true,
  label: 'Timestep spacing',
  help: 'Which of the training timesteps the steps land on; trailing reaches the noisiest one.',
} as const satisfies ChoiceOption<typeof TIMESTEP_SPACINGS>;

export const STEPS_OFFSET = {
  type: 'int',
  default: 0,
  min: 0,
  max: 255,
  label: 'Steps offset',
  help: 'Shifts every timestep by this much (diffusers steps_offset; Stable Diffusion uses 1).',
} as const satisfies NumberOption;

export const S_NOISE = {
  type: 'number',
  default: 1,
  min: 0,
  label: 'Noise scale',
  help: 'Multiplies the fresh noise (EDM S_noise); slightly above 1 can offset detail loss.',
} as const satisfies NumberOption;

/** How the noise levels are chosen, for every sampler that walks a sigma sequence. */
export const SIGMA_OPTIONS = {
  sigmas: {
    type: 'choice',
    choices: SIGMA_KINDS,
    default: 'karras',
    recipe: true,
    label: 'Noise levels',
    help: 'How the steps are spread over noise levels: Karras puts more of them near the clean end.',
  } as const satisfies ChoiceOption<typeof SIGMA_KINDS>,
  rho: {
    type: 'number',
    default: 7,
    min: 0,
    minExclusive: true,
    recipe: { min: 0.1, max: 100 },
    label: 'Karras exponent (rho)',
    help: 'Higher packs the Karras steps closer to the clean end; 7 is EDM’s choice.',
  } as const satisfies NumberOption,
  sigmaMin: {
    type: 'number',
    min: 0,
    minExclusive: true,
    defaultText: 'the schedule’s smallest noise level',
    label: 'Lowest noise level',
    help: 'Where the walk stops before the final clean step.',
  } as const satisfies NumberOption,
  sigmaMax: {
    type: 'number',
    min: 0,
    minExclusive: true,
    defaultText: 'the schedule’s largest noise level',
    label: 'Highest noise level',
    help: 'Where the walk starts.',
  } as const satisfies NumberOption,
} as const;
