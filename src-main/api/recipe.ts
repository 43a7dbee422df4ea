/**
 * `gallery:readRecipe`: what a PNG dropped on the window (ours, or any AUTOMATIC1111-style PNG)
 * lets the Sample page restore. The main side reads the file's text chunks
 * (gallery/metadata.ts: readSampleMetadata + restorableSettings); the renderer maps the settings
 * onto its form and names what it could not use.
 */

/** The largest PNG the channel takes (before base64). A recipe lives in a few KB of text chunks. */
export const MAX_RECIPE_PNG_BYTES = 20 * 1024 * 1024;

export interface ReadRecipeRequest {
  /** the PNG's bytes, base64 (the renderer may send only the chunks before the pixels) */
  png: string;
  /** the file's name, for messages */
  name?: string;
}

/** Settings found in the file; every field optional (whatever validated). */
export interface RecipeSettings {
  seed?: number;
  steps?: number;
  /** one of our sampler names */
  sampler?: string;
  width?: number;
  height?: number;
  eta?: number;
  samplerOptions?: Record<string, unknown>;
  schedule?: Record<string, unknown>;
  prediction?: string;
  checkpointId?: string;
  checkpointSha256?: string;
  /** A1111's short model hash (first 10 hex digits of a sha256) when the full one is unknown */
  modelHash?: string;
  runId?: string;
  /** class-conditional samples: the class (null: unconditional) and the guidance scale W */
  class?: string | null;
  guidance?: number;
  /** A1111's `Model:` name, for messages ("model 'v1-5-pruned' is not in this library") */
  modelName?: string;
}

export interface RecipeResult {
  /** whose recipe the file carries: our `sfumato` chunk, an A1111 `parameters` text, or none */
  source: 'sfumato' | 'a1111' | 'none';
  settings: RecipeSettings;
  /** what the file says that cannot be restored, and anything odd about the file, one line each */
  problems: string[];
}
