/**
 * Restoring a recipe onto the Sample page's form: from a gallery record ("Reuse these settings",
 * "Send to img2img") or from a dropped PNG (`gallery:readRecipe`). Pure functions: the store
 * passes its lists and form in, and gets back what was restored and what could not be, as lines
 * for a toast.
 */
import type { RecipeSettings } from '../../../src-main/api/recipe';
import type { BundledModel, Checkpoint, Run, SampleRecord, SamplerName, SamplerOptions } from '../../../src-main/api/types';
import { OPTION_DEFAULTS, SAMPLER_INFO } from './samplers';

/** The part of the Sample page's form a recipe sets. */
export interface RecipeForm {
  source: string;
  sampler: SamplerName;
  steps: number;
  seed: number;
  seedMode: 'fixed' | 'random' | 'increment';
  options: Required<SamplerOptions>;
}

export interface RecipeLists {
  models: BundledModel[];
  runs: Run[];
  checkpoints: Checkpoint[];
  /** the form's model choices (`model:<id>`, `run:<id>`, `ckpt:<id>`) */
  sources: { id: string }[];
}

export interface Applied {
  /** what was set, e.g. "seed 42", "DDIM", "20 steps" */
  restored: string[];
  /** what could not be used, one line each */
  problems: string[];
}

/** The settings of a gallery record, in the shape the drop channel answers. */
export function recordRecipe(rec: SampleRecord): RecipeSettings {
  return {
    seed: rec.seed,
    steps: rec.steps,
    sampler: rec.sampler,
    width: rec.width,
    height: rec.height,
    samplerOptions: { ...rec.samplerOptions },
    schedule: rec.schedule as unknown as Record<string, unknown>,
    prediction: rec.prediction,
    checkpointId: rec.checkpoint.id,
    checkpointSha256: rec.checkpoint.sha256,
    ...(rec.runId ? { runId: rec.runId } : {}),
    ...(rec.guidance ? { class: rec.guidance.class, guidance: rec.guidance.scale } : {}),
  };
}

/** `model:<id>` for a checkpoint of a bundled model (its own run), else `ckpt:<id>`, when the form offers it. */
function sourceOfCheckpoint(c: Checkpoint, lists: RecipeLists): string | undefined {
  const has = (id: string) => lists.sources.some((s) => s.id === id);
  const model = lists.models.find((m) => m.sha256 === c.sha256);
  if (model && has(`model:${model.id}`)) return `model:${model.id}`;
  if (has(`ckpt:${c.id}`)) return `ckpt:${c.id}`;
  const run = lists.runs.find((r) => r.id === c.runId);
  if (run?.initFrom?.modelId && run.datasetId === null && has(`model:${run.initFrom.modelId}`)) return `model:${run.initFrom.modelId}`;
  return undefined;
}

/**
 * Which of the form's model choices a recipe names: the exact checkpoint (by id or sha256; a
 * bundled model by its sha256), else the run's latest checkpoint, else an A1111 short hash that
 * prefixes a known sha256. `problem` says what was not found, or what stands in for it.
 */
export function resolveSource(s: RecipeSettings, lists: RecipeLists): { source?: string; problem?: string } {
  const has = (id: string) => lists.sources.some((x) => x.id === id);
  const bySha = (sha: string) => lists.models.find((m) => m.sha256 === sha);
  if (s.checkpointSha256) {
    const m = bySha(s.checkpointSha256);
    if (m && has(`model:${m.id}`)) return { source: `model:${m.id}` };
  }
  const ckpt = lists.checkpoints.find((c) => c.id === s.checkpointId) ?? (s.checkpointSha256 ? lists.checkpoints.find((c) => c.sha256 === s.checkpointSha256) : undefined);
  const exact = ckpt && sourceOfCheckpoint(ckpt, lists);
  if (exact) return { source: exact };
  if (s.runId && has(`run:${s.runId}`)) {
    return { source: `run:${s.runId}`, problem: `checkpoint ${s.checkpointId ?? s.checkpointSha256?.slice(0, 10) ?? '?'} is not in this library: using run ${s.runId}'s latest checkpoint` };
  }
  if (s.modelHash && s.modelHash.length >= 8) {
    const h = s.modelHash.toLowerCase();
    const m = lists.models.find((x) => x.sha256.startsWith(h));
    if (m && has(`model:${m.id}`)) return { source: `model:${m.id}` };
    const c = lists.checkpoints.find((x) => x.sha256.startsWith(h));
    const src = c && sourceOfCheckpoint(c, lists);
    if (src) return { source: src };
  }
  const name = s.modelName ?? s.checkpointId ?? s.runId ?? s.modelHash;
  if (name) return { problem: `model '${name}' is not in this library — pick a model` };
  return { problem: 'the file names no model — pick a model' };
}

const OPTION_KEYS = Object.keys(OPTION_DEFAULTS) as (keyof SamplerOptions)[];

/** Sets the form from a recipe. Fields the recipe lacks keep their value. */
export function applyRecipe(form: RecipeForm, s: RecipeSettings, lists: RecipeLists): Applied {
  const restored: string[] = [];
  const problems: string[] = [];
  const src = resolveSource(s, lists);
  if (src.source) {
    form.source = src.source;
    restored.push('model');
  }
  if (src.problem) problems.push(src.problem);
  if (s.sampler !== undefined) {
    if (s.sampler in SAMPLER_INFO) {
      form.sampler = s.sampler as SamplerName;
      restored.push(SAMPLER_INFO[form.sampler].label);
    } else problems.push(`sampler ${s.sampler} is not available in this version`);
  }
  if (s.steps !== undefined) {
    if (Number.isInteger(s.steps) && s.steps >= 1 && s.steps <= 1000) {
      form.steps = s.steps;
      restored.push(`${s.steps} steps`);
    } else problems.push(`${s.steps} steps (the form takes 1 to 1000)`);
  }
  if (s.seed !== undefined) {
    form.seed = s.seed;
    // A random seed mode would draw over the restored seed on Generate.
    if (form.seedMode === 'random') form.seedMode = 'fixed';
    restored.push(`seed ${s.seed}`);
  }
  const opts: Record<string, unknown> = { ...(s.samplerOptions ?? {}) };
  if (s.eta !== undefined && opts.eta === undefined) opts.eta = s.eta;
  for (const [k, v] of Object.entries(opts)) {
    const key = k as keyof SamplerOptions;
    if (OPTION_KEYS.includes(key) && typeof v === typeof OPTION_DEFAULTS[key]) (form.options as Record<string, unknown>)[key] = v;
    else problems.push(`sampler option ${k} (not one this version knows)`);
  }
  if (Object.keys(opts).length) restored.push('sampler options');
  const model = lists.models.find((m) => form.source === `model:${m.id}`);
  const run = model ? undefined : lists.runs.find((r) => form.source === `run:${r.id}` || lists.checkpoints.some((c) => form.source === `ckpt:${c.id}` && c.runId === r.id));
  const size = model?.trainConfig.imageSize ?? run?.config.imageSize;
  if (size && s.width !== undefined && s.height !== undefined && (s.width !== size || s.height !== size)) {
    problems.push(`size ${s.width}×${s.height} (this model makes ${size}×${size} images)`);
  }
  return { restored, problems };
}

/** One toast line: what was restored, then what was not. */
export function recipeToastText(what: string, a: Applied): string {
  const head = a.restored.length ? `Restored ${what}: ${a.restored.join(', ')}.` : `Nothing in ${what} could be restored.`;
  return a.problems.length ? `${head} Not restored: ${a.problems.join('; ')}.` : head;
}
