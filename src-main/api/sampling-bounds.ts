/**
 * The one definition of what a sampling recipe may ask for: the request validation
 * (api/requests.ts), the PNG record reader (gallery/metadata.ts, so `reproduce` of a file
 * and drag-and-drop restore) and the renderer's Sample form all read these bounds.
 *
 * Why bounds at all: a recipe is a cost. `pc` runs steps x (1 + correctorSteps) network
 * evaluations, `pf-ode` picks its own step count from rtol/atol, and a file's record is untrusted:
 * without caps one PNG could ask for 255 correctors x 10,000 steps, or eta = 1e300. The ranges
 * cover every value that makes sense for these samplers (DDIM's eta is defined on [0, 1]; EDM's
 * churn is used up to 80; Song et al. use snr 0.16 and one corrector step).
 *
 * The option bounds are declared with each sampler (diffusion/samplers/<name>.ts, `recipe`); this
 * file collects them. No Node imports: the renderer imports this file too.
 */
import { recipeOptions } from '../diffusion/samplers/registry';

export interface NumberBound {
  min: number;
  max: number;
  integer?: boolean;
}

/** Steps of a recipe (the Sample form's steps field); each option's own bounds come from its sampler's descriptor. */
export const STEPS_BOUND: NumberBound = { min: 1, max: 1000, integer: true };

const RECIPE = recipeOptions();

/** Recipe bounds by option (from the sampler descriptors' `recipe`), plus `steps`. */
export const SAMPLING_BOUNDS: Readonly<Record<string, NumberBound>> & { readonly steps: NumberBound } = Object.freeze({
  steps: STEPS_BOUND,
  ...Object.fromEntries(
    [...RECIPE].flatMap(([k, o]) => (o.type === 'choice' || !o.recipe ? [] : [[k, { ...o.recipe, ...(o.type === 'int' ? { integer: true } : {}) }]])),
  ),
});

/** The choices of each choice option of a recipe (from the descriptors). */
export const SAMPLING_CHOICES: Readonly<Record<string, readonly string[]>> = Object.freeze(
  Object.fromEntries([...RECIPE].flatMap(([k, o]) => (o.type === 'choice' ? [[k, o.choices]] : []))),
);

/** The option names a recipe may carry (those of the contract's SamplerOptions). */
export const SAMPLER_OPTION_KEYS: readonly string[] = Object.freeze([...RECIPE.keys()]);

/** "between 0 and 1" / "a whole number from 1 to 1000", for messages. */
export function describeBound(b: NumberBound): string {
  return b.integer ? `a whole number from ${b.min} to ${b.max}` : `a number from ${b.min} to ${b.max}`;
}

/** Undefined when `v` is inside `b`, else what is wrong with it (for a message). */
export function boundProblem(name: string, v: unknown, b: NumberBound): string | undefined {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < b.min || v > b.max || (b.integer && !Number.isInteger(v))) {
    const got = typeof v === 'number' ? String(v) : JSON.stringify(v)?.slice(0, 40) ?? String(v);
    return `${name} must be ${describeBound(b)} (got ${got})`;
  }
  return undefined;
}

export interface RecipeProblem {
  /** e.g. `steps`, `samplerOptions.eta` */
  field: string;
  /** says what is allowed and what was found */
  message: string;
}

/**
 * Checks a recipe (sampler, steps, options) against the bounds. `steps` is not checked for
 * `pf-ode`, whose recorded steps are the evaluations its adaptive solver chose. Returns every
 * problem found (empty when the recipe is within bounds); never throws.
 */
export function checkSamplingRecipe(r: { sampler?: unknown; steps?: unknown; samplerOptions?: unknown }, prefix = ''): RecipeProblem[] {
  const out: RecipeProblem[] = [];
  if (r.steps !== undefined && r.sampler !== 'pf-ode') {
    const p = boundProblem(`${prefix}steps`, r.steps, SAMPLING_BOUNDS.steps);
    if (p) out.push({ field: `${prefix}steps`, message: p });
  }
  const o = r.samplerOptions;
  if (o === undefined || o === null) return out;
  if (typeof o !== 'object' || Array.isArray(o)) {
    out.push({ field: `${prefix}samplerOptions`, message: `${prefix}samplerOptions must be an object` });
    return out;
  }
  for (const [k, v] of Object.entries(o as Record<string, unknown>)) {
    const field = `${prefix}samplerOptions.${k}`;
    if (k in SAMPLING_BOUNDS && k !== 'steps') {
      const p = boundProblem(field, v, SAMPLING_BOUNDS[k]);
      if (p) out.push({ field, message: p });
    } else if (k in SAMPLING_CHOICES) {
      const choices = SAMPLING_CHOICES[k];
      if (typeof v !== 'string' || !choices.includes(v)) out.push({ field, message: `${field} must be one of ${choices.join(', ')} (got ${JSON.stringify(v)?.slice(0, 40)})` });
    } else {
      out.push({ field, message: `${field} is not a sampler option (the options are ${SAMPLER_OPTION_KEYS.join(', ')})` });
    }
  }
  return out;
}
