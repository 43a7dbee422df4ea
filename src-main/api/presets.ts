/**
 * Saved things of the library: named noise schedules and sampling / training presets, stored in
 * the library's SQLite file (so every window, browser, port and the CLI sees the same ones) and
 * moved between libraries as one JSON file.
 *
 * This file holds the request schemas of the `presets:*` rows of the contract and the shape of
 * the export file. What a preset holds (its `body`) is checked by the service with the rules that
 * apply where it is used (services/presets.ts): a schedule by the schedule validation the trainer
 * and sampler run, a training preset by the trainer's config resolution, a sampling preset by
 * `SamplingPresetBodySchema` below (the sampler fields of the `sample:generate` request).
 */
import { z } from 'zod';
import { GenerateSchema } from './requests';
import type { ScheduleJson, TrainConfig } from './types';

export const PRESET_KINDS = ['schedule', 'sampling', 'training'] as const;
export type PresetKind = (typeof PRESET_KINDS)[number];

/** The sampler settings of a `sample:generate` request: what a sampling preset may hold. */
export const SamplingPresetBodySchema = GenerateSchema.pick({ sampler: true, steps: true, options: true, count: true, seed: true, engine: true }).partial();
export type SamplingPresetBody = z.infer<typeof SamplingPresetBodySchema>;

/** What each kind of preset holds. */
export interface PresetBodies {
  schedule: ScheduleJson;
  sampling: SamplingPresetBody;
  training: Partial<TrainConfig>;
}

interface PresetBase {
  id: string;
  name: string;
  createdAt: string;
  updatedAt: string;
}
export type Preset = { [K in PresetKind]: PresetBase & { kind: K; body: PresetBodies[K] } }[PresetKind];

/** The `format` field of an export file; `version` says which shape it has. */
export const PRESET_FILE_FORMAT = 'sfumato-presets';
export const PRESET_FILE_VERSION = 1;
/** At most this many presets in one file (a library has tens; the cap bounds one import). */
export const MAX_PRESETS_PER_FILE = 1000;

/** One preset in an export file: no id (ids belong to a library), kind + name + body. */
export interface PresetFileEntry {
  kind: PresetKind;
  name: string;
  body: unknown;
}
export interface PresetFile {
  format: typeof PRESET_FILE_FORMAT;
  version: typeof PRESET_FILE_VERSION;
  exportedAt: string;
  presets: PresetFileEntry[];
}

const id = z.string().min(1).max(100);
/** Names are what the artist sees in lists and passes to `--schedule NAME` / `--preset NAME`. */
export const presetName = z
  .string('name: give the preset a name')
  .trim()
  .min(1, 'name: give the preset a name')
  .max(100, 'name: at most 100 characters')
  .regex(/^[^\u0000-\u001f]+$/, 'name: no control characters');
const kind = z.enum(PRESET_KINDS, { error: `kind must be one of ${PRESET_KINDS.join(', ')}` });

export const PresetsListSchema = z.object({ kind: kind.optional() }).strict();

/** Saves a preset; one of the same kind and name is replaced (its id kept). */
export const SavePresetSchema = z
  .object({
    kind,
    name: presetName,
    /** checked against the rules of its kind by the service */
    body: z.custom<unknown>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'body must be an object of settings'),
  })
  .strict();

export const RenamePresetSchema = z.object({ id, name: presetName }).strict();

/** Export: the given presets, or all of one kind, or everything. */
export const ExportPresetsSchema = z.object({ ids: z.array(id).max(MAX_PRESETS_PER_FILE).optional(), kind: kind.optional() }).strict();

/** The export file's shape; bodies are checked per kind by the service. */
export const PresetFileSchema = z
  .object({
    format: z.literal(PRESET_FILE_FORMAT, `format must be "${PRESET_FILE_FORMAT}" (this is not a Sfumato presets file)`),
    version: z.literal(PRESET_FILE_VERSION, `version must be ${PRESET_FILE_VERSION}; this file was written by a newer Sfumato`),
    exportedAt: z.string().optional(),
    presets: z
      .array(z.object({ kind, name: presetName, body: z.unknown() }).strip())
      .max(MAX_PRESETS_PER_FILE, `at most ${MAX_PRESETS_PER_FILE} presets per file`),
  })
  .strip();

/**
 * Import: the parsed export file. A preset whose kind and name are taken is saved under a new
 * name ("name (2)") unless `onConflict` says `replace` or `skip`.
 */
export const ImportPresetsSchema = z
  .object({
    file: z.unknown(),
    onConflict: z.enum(['rename', 'replace', 'skip']).optional(),
  })
  .strict();

export interface ImportPresetsResult {
  imported: Preset[];
  /** saved under another name because the name was taken */
  renamed: { from: string; to: string; kind: PresetKind }[];
  /** left out (onConflict: skip) */
  skipped: { name: string; kind: PresetKind }[];
}
