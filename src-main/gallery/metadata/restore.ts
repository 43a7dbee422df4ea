/** Restorable settings: the form fields a PNG's metadata can fill in (moved whole from gallery/metadata.ts; its file comment has the format and the safety rules). */
import type { RecipeSettings } from '../../api/recipe';
import { SAMPLER_NAMES } from '../../diffusion/samplers/index';
import { checkSamplingRecipe, SAMPLING_BOUNDS } from '../../api/sampling-bounds';
import { ID_RE } from '../../db/ids';
import { UNSAFE_KEYS, samplerFromA1111 } from './a1111';
import { SLUG_RE, jsonDepth, metaObject, type MetaValue, type SampleMetadata } from './sfumato-chunk';

// ------------------------------------------------------------------ restore

/** The form fields a PNG can fill in: the contract's recipe settings (api/recipe.ts), less the A1111 model name that gallery/recipe.ts adds. */
export type RestoredSettings = Omit<RecipeSettings, 'modelName'>;

export interface Restorable {
  source: 'sfumato' | 'a1111' | 'none';
  settings: RestoredSettings;
  /** what the file says that Sfumato cannot apply, e.g. "CFG scale: 7" */
  unmapped: string[];
}

const clip = (s: string, n = 80) => (s.length > n ? `${s.slice(0, n)}…` : s);

/** A decimal integer in [min, max] from an A1111 value, else undefined (the CLI's flag parser is cli/parse.ts parseIntStrict). */
function decimalIntInRange(v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined || !/^\s*\d{1,16}\s*$/.test(v)) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined;
}

function parseJsonObject(v: string | undefined): Record<string, MetaValue> | undefined {
  if (v === undefined || v.length > 16_384 || jsonDepth(v) > 4) return undefined;
  try {
    const parsed: unknown = JSON.parse(v, (k, x: unknown) => (UNSAFE_KEYS.has(k) ? undefined : x));
    const r = metaObject(32)(parsed);
    return r.ok ? r.value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What a dropped or opened PNG lets us restore: everything from our own chunk (all fields that
 * validated), else what maps from an A1111 infotext (seed, steps, sampler, size, eta, and our own
 * keys when the text came from Sfumato). Everything else is listed in `unmapped`.
 */
export function restorableSettings(meta: SampleMetadata): Restorable {
  const p = meta.record ?? meta.partial;
  if (p && (p.seed !== undefined || p.steps !== undefined || p.sampler !== undefined)) {
    const s: RestoredSettings = {};
    const unmapped: string[] = [];
    if (p.seed !== undefined) s.seed = p.seed;
    if (p.steps !== undefined) s.steps = p.steps;
    if (p.sampler !== undefined) {
      if ((SAMPLER_NAMES as readonly string[]).includes(p.sampler)) s.sampler = p.sampler;
      else unmapped.push(`sampler ${p.sampler} (not available in this version)`);
    }
    if (p.width !== undefined) s.width = p.width;
    if (p.height !== undefined) s.height = p.height;
    if (p.samplerOptions) {
      s.samplerOptions = p.samplerOptions;
      if (typeof p.samplerOptions.eta === 'number') s.eta = p.samplerOptions.eta;
    }
    if (p.schedule) s.schedule = p.schedule;
    if (p.prediction) s.prediction = p.prediction;
    if (p.checkpoint) {
      s.checkpointId = p.checkpoint.id;
      s.checkpointSha256 = p.checkpoint.sha256;
    }
    if (p.runId) s.runId = p.runId;
    if (p.guidance) {
      s.class = p.guidance.class;
      s.guidance = p.guidance.scale;
    }
    for (const f of ['seed', 'steps', 'sampler', 'width', 'height', 'samplerOptions', 'schedule', 'checkpoint'] as const) {
      if (p[f] === undefined) unmapped.push(`${f} (missing or invalid in the file)`);
    }
    return { source: 'sfumato', settings: s, unmapped };
  }
  const a = meta.a1111;
  if (!a) return { source: 'none', settings: {}, unmapped: [] };
  const params = a.params;
  const s: RestoredSettings = {};
  const unmapped: string[] = [];
  const used = new Set<string>();
  const take = (k: string) => {
    used.add(k);
    return Object.prototype.hasOwnProperty.call(params, k) ? params[k] : undefined;
  };
  const seed = decimalIntInRange(take('Seed'), 0, Number.MAX_SAFE_INTEGER);
  if (seed !== undefined) s.seed = seed;
  const steps = decimalIntInRange(take('Steps'), SAMPLING_BOUNDS.steps.min, SAMPLING_BOUNDS.steps.max);
  if (steps !== undefined) s.steps = steps;
  const size = /^\s*(\d{1,5})x(\d{1,5})\s*$/.exec(take('Size') ?? '');
  if (size) {
    const w = Number(size[1]);
    const h = Number(size[2]);
    if (w >= 1 && h >= 1 && w <= 16_384 && h <= 16_384) {
      s.width = w;
      s.height = h;
    }
  }
  const ours = take('Sfumato sampler');
  const label = take('Sampler');
  if (ours !== undefined && (SAMPLER_NAMES as readonly string[]).includes(ours)) s.sampler = ours;
  else if (label !== undefined) {
    const m = samplerFromA1111(label);
    if (m.sampler) s.sampler = m.sampler;
    else unmapped.push(`Sampler: ${clip(label)} (no Sfumato equivalent)`);
    if (m.schedule) unmapped.push(`Schedule: ${clip(m.schedule)} (from the sampler label)`);
  }
  const etaText = take('Eta DDIM') ?? take('Eta');
  if (etaText !== undefined) {
    const eta = Number(etaText);
    if (etaText.trim() !== '' && Number.isFinite(eta) && eta >= SAMPLING_BOUNDS.eta.min && eta <= SAMPLING_BOUNDS.eta.max) s.eta = eta;
    else unmapped.push(`Eta: ${clip(etaText)} (not a number from ${SAMPLING_BOUNDS.eta.min} to ${SAMPLING_BOUNDS.eta.max})`);
  }
  const options = parseJsonObject(take('Sfumato sampler options'));
  if (options && checkSamplingRecipe({ samplerOptions: options }).length === 0) s.samplerOptions = options;
  else if (options) unmapped.push('Sfumato sampler options (outside the allowed ranges)');
  const schedule = parseJsonObject(take('Sfumato schedule'));
  const scheduleType = take('Schedule type');
  if (schedule) s.schedule = schedule;
  else if (scheduleType !== undefined && scheduleType !== 'Automatic') unmapped.push(`Schedule type: ${clip(scheduleType)}`);
  const prediction = take('Prediction');
  if (prediction !== undefined && SLUG_RE.test(prediction)) s.prediction = prediction;
  const sha = take('Checkpoint sha256');
  if (sha !== undefined && /^[0-9a-f]{64}$/.test(sha)) s.checkpointSha256 = sha;
  const hash = take('Model hash');
  if (hash !== undefined && /^[0-9a-fA-F]{8,64}$/.test(hash) && !s.checkpointSha256) s.modelHash = hash.toLowerCase();
  const ckpt = take('Checkpoint');
  if (ckpt !== undefined && ID_RE.test(ckpt)) s.checkpointId = ckpt;
  const run = take('Run');
  if (run !== undefined && ID_RE.test(run)) s.runId = run;
  // a class-conditional Sfumato sample writes `Class` beside `CFG scale`; another app's CFG scale
  // guides a text prompt, which Sfumato cannot apply (listed below as unmapped)
  const cls = Object.prototype.hasOwnProperty.call(params, 'Class') ? take('Class') : undefined;
  if (cls !== undefined) {
    s.class = cls === '(unconditional)' ? null : cls.slice(0, 200);
    const cfg = take('CFG scale');
    const w = Number(cfg);
    if (cfg !== undefined && cfg.trim() !== '' && Number.isFinite(w) && w >= 0 && w <= 1000) s.guidance = w;
    else if (cfg !== undefined) unmapped.push(`CFG scale: ${clip(cfg)} (not a number ≥ 0)`);
  }
  // Informational keys Sfumato writes itself: nothing to restore, nothing to warn about.
  for (const k of ['Model', 'Backend', 'Sample', 'Sfumato version']) used.add(k);
  if (a.prompt) unmapped.push(`Prompt: ${clip(a.prompt)} (Sfumato models are unconditional)`);
  if (a.negativePrompt) unmapped.push(`Negative prompt: ${clip(a.negativePrompt)}`);
  for (const k of Object.keys(params)) if (!used.has(k)) unmapped.push(`${clip(k, 40)}: ${clip(params[k])}`);
  return { source: 'a1111', settings: s, unmapped };
}
