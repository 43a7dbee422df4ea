/**
 * `gallery:readRecipe`: the recipe inside a PNG someone dropped on the window. Sfumato's own
 * `sfumato` chunk wins; else an AUTOMATIC1111 `parameters` text (A1111, Forge, ComfyUI exports
 * with A1111 metadata) is mapped as far as it goes. Never trusts the file: readSampleMetadata
 * validates every field, and what cannot be used is listed in `problems`, one line each.
 */
import { ApiError } from '../api/errors';
import type { ReadRecipeRequest, RecipeResult, RecipeSettings } from '../api/recipe';
import { MAX_RECIPE_PNG_BYTES } from '../api/recipe';
import { PNG_SIGNATURE } from '../png/chunks';
import { readSampleMetadata, restorableSettings } from './metadata';

/** The largest seed a sampling request takes (api/requests.ts). */
const MAX_SEED = 0xffffffff;
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

const fileLabel = (name: string | undefined) => (name ? `"${name.slice(0, 120)}"` : 'The file');

export function readRecipe(req: ReadRecipeRequest): RecipeResult {
  const label = fileLabel(req.name);
  if (!BASE64_RE.test(req.png)) throw new ApiError('bad_request', `${label} could not be read: png must be base64 (the file's bytes).`, { field: 'png' });
  const bytes = new Uint8Array(Buffer.from(req.png, 'base64'));
  if (bytes.length > MAX_RECIPE_PNG_BYTES) {
    throw new ApiError('bad_request', `${label} is ${(bytes.length / 2 ** 20).toFixed(1)} MB; recipes are read from PNGs up to ${MAX_RECIPE_PNG_BYTES / 2 ** 20} MB.`, { field: 'png' });
  }
  if (bytes.length < PNG_SIGNATURE.length || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) {
    throw new ApiError('bad_request', `${label} is not a PNG image. Drop a PNG saved by Sfumato or by AUTOMATIC1111 (Forge, …) to restore its recipe.`, { field: 'png' });
  }
  const meta = readSampleMetadata(bytes);
  const restored = restorableSettings(meta);
  const settings: RecipeSettings = { ...restored.settings };
  const problems = [...restored.unmapped];
  if (settings.seed !== undefined && settings.seed > MAX_SEED) {
    problems.push(`Seed ${settings.seed} is above ${MAX_SEED}, the largest seed Sfumato takes; the form keeps its own seed.`);
    delete settings.seed;
  }
  // A1111's `Model:` is informational for restorableSettings; the UI names it when it finds no such model.
  const model = meta.a1111?.params.Model;
  if (restored.source === 'a1111' && model && !/[\u0000-\u001f\u007f]/.test(model)) settings.modelName = model.slice(0, 200);
  for (const p of meta.problems) problems.push(`File: ${p}`);
  return { source: restored.source, settings, problems };
}
