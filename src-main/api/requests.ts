/**
 * Request schemas of the contract (zod), and the request types inferred from them. The table in
 * api/channels.ts names one of these per channel; every transport (IPC, HTTP, the CLI and tests
 * calling `Sfumato.api`) validates through it, so a request that passes here is the typed request
 * its handler receives. A failed check becomes ApiError('bad_request') naming the field.
 *
 * zod is pure JavaScript and browser-safe: the renderer and the preload import this file.
 */
import { z } from 'zod';
import { MAX_RECIPE_PNG_BYTES } from './recipe';
import { SAMPLER_NAMES } from '../diffusion/samplers/index';
import { boundedNumber, SamplerOptionsSchema } from './sampler-options';
import type { SampleOrigin, TrainConfig } from './types';
import { ID_RE } from './ids';

const id = z.string().min(1).max(100);
const seed = z.number().int().min(0).max(0xffffffff);
const tag = z.string().trim().min(1).max(64).regex(/^[^\u0000-\u001f,]+$/, 'tags are 1–64 characters without commas or control characters');

/** a run's name: what the user calls it (1–120 characters after trimming) */
export const runName = z
  .string('give the run a name')
  .trim()
  .min(1, 'give the run a name (it cannot be empty)')
  .max(120, 'a run name has at most 120 characters')
  .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'a run name has no control characters (line breaks, tabs)');

/** No request fields. */
export const NoArgs = z.object({}).strict();
/** One id (runs:get, gallery:meta, …). */
export const IdRequest = z.object({ id }).strict();

/**
 * Bulk gallery requests carry at most this many ids (the store writes them in short transactions;
 * the cap bounds how long one request keeps the database busy).
 */
export const MAX_BULK_IDS = 10_000;
/** Export writes no rows; its cap is the zip limit gallery/export.ts enforces. */
export const MAX_EXPORT_IDS = 65_000;
export const MAX_TAGS_PER_REQUEST = 100;
const fmt = (n: number): string => n.toLocaleString('en-US');
/** An id list of 1..max entries; too many gets a message with the count and what to do. */
const bulkIds = (max: number, empty = 'give at least one id') =>
  z.array(id).min(1, empty).max(max, {
    error: (iss) => `too many ids: at most ${fmt(max)} per request, got ${fmt((iss.input as unknown[] | undefined)?.length ?? 0)}; send them in smaller batches`,
  });
const tagList = z.array(tag).max(MAX_TAGS_PER_REQUEST, `at most ${MAX_TAGS_PER_REQUEST} tags per request; send them in smaller batches`);
const background = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'background must be a colour like #ffffff');

/**
 * Training settings: any object here; resolveTrainConfig (training/config.ts) checks them field by
 * field, with messages that name the field, and fills in the defaults.
 */
const trainConfig = z.custom<Partial<TrainConfig>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'config must be an object of training settings');

export const ImportDatasetSchema = z
  .object({
    dir: z.string().min(1, 'dir: give the folder of images to import'),
    name: z.string().min(1).max(200).optional(),
    /** training resolution of the prepared cache (default 32) */
    imageSize: z.number().int().optional(),
    /** colour that replaces transparency, `#rrggbb` (default white) */
    background: background.optional(),
    /** framing: `center` crops the middle square (default), `fit` pads the whole image */
    crop: z.enum(['center', 'fit']).optional(),
  })
  .strict();
export type ImportDatasetRequest = z.infer<typeof ImportDatasetSchema>;

/** The import settings on the first `count` images of a folder (nothing is stored). */
export const PreviewDatasetSchema = z
  .object({
    dir: z.string().min(1, 'dir: give the folder of images to preview'),
    name: z.string().optional(),
    imageSize: z.number().int().optional(),
    background: background.optional(),
    crop: z.enum(['center', 'fit']).optional(),
    count: z.number().int().min(1).max(16).optional(),
  })
  .strict();
export type PreviewDatasetRequest = z.infer<typeof PreviewDatasetSchema>;

/** A new name for a dataset (trimmed; 1–200 characters). */
export const RenameDatasetSchema = z
  .object({ id, name: z.string().trim().min(1, 'give the dataset a name').max(200, 'a dataset name is at most 200 characters') })
  .strict();

/** Leave images out of training (or take them back): runs started afterwards use the included set. */
export const ExcludeImagesSchema = z.object({ id, itemIds: bulkIds(MAX_BULK_IDS, 'give at least one image id'), excluded: z.boolean() }).strict();

/** At most this many images per datasets:images request (the grid asks page by page). */
export const MAX_DATASET_IMAGES = 256;
/** A page of a dataset's prepared images (cache order). */
export const DatasetImagesSchema = z
  .object({ id, offset: z.number().int().min(0).default(0), limit: z.number().int().min(1).max(MAX_DATASET_IMAGES).default(128) })
  .strict();

/** The folder picker: one folder (default: the home folder). */
export const ListFoldersSchema = z.object({ path: z.string().max(4096).optional() }).strict();

export const StartRunSchema = z
  .object({
    datasetId: id,
    seed: seed.optional(),
    config: trainConfig.optional(),
    /** fine-tune: start from this checkpoint's weights (architecture and schedule come from it) */
    initCheckpointId: id.optional(),
    /** fine-tune: start from a bundled base model */
    initModelId: id.optional(),
    /** fine-tune: start the optimiser afresh instead of taking the checkpoint's state (default true for models) */
    resetOptimizer: z.boolean().optional(),
    /** the run's name; by default "<dataset> · <scratch|fine-tune> · <date>" */
    name: runName.optional(),
  })
  .strict();
export type StartRunRequest = z.infer<typeof StartRunSchema>;

export const EstimateRunSchema = z.object({ datasetId: id, config: trainConfig.optional() }).strict();

export const ImportModelSchema = z
  .object({ file: z.string().min(1), prediction: z.enum(['eps', 'x0', 'v']), schedule: z.unknown(), name: z.string().min(1).max(200).optional() })
  .strict();

/**
 * Bake a LoRA adapter into a model: the run's latest checkpoint (or a checkpoint, or a bundled
 * model) with its own adapter (a LoRA run) or an adapter file, at `scale` (default 1).
 */
export const MergeModelSchema = z
  .object({
    runId: id.optional(),
    checkpointId: id.optional(),
    modelId: z.string().min(1).max(100).optional(),
    lora: z.string().min(1).max(4096).optional(),
    scale: z.number({ error: 'must be a finite number (e.g. 0.5 or 1): the LoRA strength' }).optional(),
    name: z.string().min(1).max(200).optional(),
  })
  .strict();
export type MergeModelRequest = z.infer<typeof MergeModelSchema>;

/** ONNX export of a checkpoint's EMA weights: to a file (never overwritten), or for a download (web mode). */
export const ExportModelSchema = z
  .object({
    checkpointId: id,
    /** a file ending in .onnx (not used with `download`) */
    to: z.string().min(1, 'give a file name ending in .onnx').optional(),
    /** web mode: write it to a temporary folder in the library for the browser to download */
    download: z.boolean().optional(),
  })
  .strict()
  .refine((r) => r.download || r.to !== undefined, { message: 'give a file name ending in .onnx (or set download)', path: ['to'] });
export type ExportModelRequest = z.infer<typeof ExportModelSchema>;

export const GenerateSchema = z
  .object({
    /** a run id (its latest checkpoint), a checkpoint id, or a bundled or imported model id */
    runId: id.optional(),
    checkpointId: id.optional(),
    modelId: z.string().min(1).max(100).optional(),
    count: z.number().int().min(1).max(256),
    seed: seed.optional(),
    sampler: z.enum(SAMPLER_NAMES).optional(),
    steps: boundedNumber('steps').optional(),
    /** sampler options (eta, sigmas, rho, churn, snr, …) */
    options: SamplerOptionsSchema.optional(),
    /**
     * Starting state (default: each image's own seed). variation: images seed, seed+1, … each blended
     * toward `subseed` by `strength`; interpolation: `frames` images walking from seed to seedB
     * (count is ignored); img2img: SDEdit from a gallery sample or dataset item.
     */
    origin: z
      .discriminatedUnion('kind', [
        z.object({ kind: z.literal('variation'), subseed: seed, strength: z.number().min(0).max(1) }).strict(),
        z.object({ kind: z.literal('interpolation'), seedB: seed, frames: z.number().int().min(2).max(256) }).strict(),
        z.object({ kind: z.literal('img2img'), strength: z.number().gt(0).max(1), sourceSampleId: id.optional(), sourceDatasetItemId: id.optional() }).strict(),
      ])
      .optional(),
    /** record this gallery sample as the parent (variations of it, …) */
    parentId: id.optional(),
    /** the network's engine: ONNX Runtime (default, fast; tfjs if it cannot start) or tfjs */
    engine: z.enum(['auto', 'onnx', 'tfjs']).optional(),
    /** apply a LoRA adapter at this strength (default 1 with `lora`): the LoRA run's own adapter, or `lora` */
    loraScale: z.number({ error: 'must be a finite number (e.g. 0.5 or 1): the LoRA strength' }).optional(),
    /** a LoRA adapter file (.safetensors, ours) to apply to the model */
    lora: z.string().min(1).max(4096).optional(),
  })
  .strict();
export type GenerateRequest = z.infer<typeof GenerateSchema>;

/**
 * A sample's stored origin (SampleOrigin), as read back from an untrusted file: the one check of
 * it (the PNG metadata reader and reproduce use it). Unknown fields are dropped.
 */
export const SampleOriginSchema = z.discriminatedUnion(
  'kind',
  [
    z.object({ kind: z.literal('seed') }),
    z.object({ kind: z.literal('variation'), subseed: z.number().min(0).max(Number.MAX_SAFE_INTEGER), strength: z.number().min(0).max(1) }),
    z.object({ kind: z.literal('interpolation'), seedB: z.number().min(0).max(Number.MAX_SAFE_INTEGER), t: z.number().min(0).max(1) }),
    z.object({
      kind: z.literal('img2img'),
      strength: z.number().min(0).max(1),
      source: z.object(
        {
          sampleId: z.string().regex(ID_RE, 'must be a sample id like smp_…').optional(),
          datasetItemId: z.string().regex(ID_RE, 'must be a dataset item id like item_…').optional(),
          sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'),
        },
        'must name a sample or dataset item and carry a sha256',
      ),
    }),
  ],
  { error: (iss) => `${JSON.stringify((iss.input as { kind?: unknown } | undefined)?.kind)} is not one of seed, variation, interpolation, img2img` },
) satisfies z.ZodType<SampleOrigin>;
/** Compile-time completeness: a new SampleOrigin kind fails here until the schema above has it. */
export const ORIGIN_SCHEMA_COMPLETE: SampleOrigin['kind'] extends z.infer<typeof SampleOriginSchema>['kind'] ? true : never = true;

export const GalleryQuerySchema = z
  .object({
    runId: id.optional(),
    checkpointSha256: z.string().regex(/^[0-9a-fA-F]{4,64}$/).optional(),
    sampler: z.enum(SAMPLER_NAMES).optional(),
    steps: z.number().int().min(1).optional(),
    tag: tag.optional(),
    favorite: z.boolean().optional(),
    /** ISO dates, inclusive */
    from: z.string().max(40).optional(),
    to: z.string().max(40).optional(),
    /** free text over ids, seed, sampler, options, schedule and tags */
    text: z.string().max(200).optional(),
    /** the trash instead of the gallery */
    trash: z.boolean().optional(),
    sort: z.enum(['newest', 'oldest', 'seed']).optional(),
    limit: z.number().int().min(1).max(10_000).optional(),
    offset: z.number().int().min(0).optional(),
  })
  .strict();
export type GalleryQuery = z.infer<typeof GalleryQuerySchema>;

export const BulkIdsSchema = z.object({ ids: bulkIds(MAX_BULK_IDS) }).strict();
/** No ids: the whole trash. An empty list is refused (an empty selection must not empty the trash). */
export const EmptyTrashSchema = z.object({ ids: bulkIds(MAX_BULK_IDS, 'give at least one id, or leave ids out to empty the whole trash').optional() }).strict();

export const GalleryUpdateSchema = z
  .object({
    ids: bulkIds(MAX_BULK_IDS),
    favorite: z.boolean().optional(),
    addTags: tagList.optional(),
    removeTags: tagList.optional(),
    collection: z.string().trim().min(1).max(100).optional(),
  })
  .strict();

const upscaleMsg = 'upscale: give a whole number from 1 to 16';
export const ExportSchema = z
  .object({
    ids: bulkIds(MAX_EXPORT_IDS),
    /** a folder, or a file ending in .zip (not used with `download`) */
    to: z.string().min(1, 'give a folder or a .zip file').optional(),
    format: z.enum(['png', 'webp']).optional(),
    contactSheet: z.boolean().optional(),
    /** integer nearest-neighbour upscale of every image and contact sheet cell, 1..16 (default 1) */
    upscale: z.number().int(upscaleMsg).min(1, upscaleMsg).max(16, upscaleMsg).optional(),
    /**
     * web mode: write the export to a temporary folder in the library for the browser to download
     * (a zip, or one image when one sample and no contact sheet); the result's `download` names it
     */
    download: z.boolean().optional(),
  })
  .strict()
  .refine((r) => r.download || r.to !== undefined, { message: 'give a folder or a .zip file (or set download)', path: ['to'] });
export type ExportRequest = z.infer<typeof ExportSchema>;

export const RunsListSchema = z.object({ datasetId: id.optional() }).strict();
export const RenameRunSchema = z.object({ id, name: runName }).strict();
export const CheckpointsListSchema = z.object({ runId: id.optional() }).strict();

/** gallery:readRecipe: a dropped PNG's bytes (base64), bounded before anything decodes them */
export const ReadRecipeSchema = z
  .object({
    png: z
      .string("png: give the PNG file's bytes as base64")
      .min(1, 'png: the file is empty; drop a PNG saved by Sfumato or AUTOMATIC1111')
      .max(Math.ceil(MAX_RECIPE_PNG_BYTES / 3) * 4, `png: the file is larger than ${MAX_RECIPE_PNG_BYTES / 2 ** 20} MB; recipes are read from PNGs up to that size`),
    name: z.string().max(1000).optional(),
  })
  .strict();
