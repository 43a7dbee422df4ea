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
    /** class labels: `subfolders` = each image's class is the folder name right below `dir`
     *  (images directly in `dir` are unlabelled); `none` (default) = no labels */
    labels: z.enum(['none', 'subfolders'], { message: 'labels: use "subfolders" (class = folder name below the imported folder) or "none"' }).optional(),
  })
  .strict();
export type ImportDatasetRequest = z.infer<typeof ImportDatasetSchema>;

/** Rename a class of a labelled dataset; naming an existing class merges the two. */
export const RenameClassSchema = z
  .object({
    id: z.string().regex(ID_RE, 'id: a dataset id like ds_…'),
    from: z.string().min(1, 'from: name the class to rename'),
    to: z.string().trim().min(1, 'to: give the new class name (an existing class name merges the two)').max(200),
  })
  .strict();
export type RenameClassRequest = z.infer<typeof RenameClassSchema>;

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
    /**
     * measure held-out bits/dim (PF-ODE, 16 images) at every checkpoint whose step is a multiple of
     * this, while this process runs (the dashboard's likelihood curve); needs a held-out split
     */
    evalLikelihoodEvery: z.number().int('evalLikelihoodEvery must be a whole number of steps').min(1, 'evalLikelihoodEvery must be at least 1 (steps)').optional(),
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
    /** ONNX Runtime execution provider: auto (default) probes WebGPU, CUDA, DirectML, CoreML, then CPU */
    provider: z.enum(['auto', 'webgpu', 'cuda', 'dml', 'coreml', 'cpu']).optional(),
    /** class-conditional models: the class to sample (by name; absent = unconditional) */
    class: z.string().min(1, 'class: name one of the model\'s classes').max(200).optional(),
    /** classifier-free guidance scale W ≥ 0 (1 = conditional, 0 = unconditional; default 1);
     *  checked by the sampling service, which names the fix */
    guidance: z.number().optional(),
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

/** Likelihood requests: bounds shared by eval:likelihood, datasets:outliers and gallery:typicality. */
export const MAX_LIKELIHOOD_IMAGES = 4096;
const likelihoodMethod = z.enum(['pf-ode', 'vlb', 'both'], { error: 'method must be pf-ode, vlb or both' });
const probes = z.number().int('probes must be a whole number').min(1, 'probes must be at least 1 (Hutchinson probes per ODE evaluation)').max(64, 'probes: at most 64');
const tol = z.number().min(1e-6, 'tol must be between 1e-6 and 1e-1').max(0.1, 'tol must be between 1e-6 and 1e-1');
const likelihoodBatch = z.number().int().min(1, 'batch must be at least 1').max(64, 'batch: at most 64 images per ODE solve');

/** `eval:likelihood`: bits/dim of a model on images of a dataset. */
export const EvalLikelihoodSchema = z
  .object({
    runId: id.optional(),
    checkpointId: id.optional(),
    modelId: id.optional(),
    /** default: the run's dataset */
    datasetId: id.optional(),
    /** only the run's held-out images (dataset images the run did not train on); an error when it has none */
    heldOut: z.boolean().optional(),
    method: likelihoodMethod.default('both'),
    n: z
      .number()
      .int('n must be a whole number of images')
      .min(1, 'n must be at least 1: the number of images to score')
      .max(MAX_LIKELIHOOD_IMAGES, `n: at most ${MAX_LIKELIHOOD_IMAGES} images per evaluation`)
      .default(16),
    probes: probes.default(1),
    seed: seed.default(0),
    batch: likelihoodBatch.default(8),
    tol: tol.default(1e-3),
    /** store the result with the run (the dashboard's curve); needs runId */
    record: z.boolean().optional(),
  })
  .strict();
export type EvalLikelihoodRequest = z.output<typeof EvalLikelihoodSchema>;

/** `datasets:outliers`: rank a dataset's included images by NLL under a model. */
export const DatasetOutliersSchema = z
  .object({
    id,
    runId: id.optional(),
    checkpointId: id.optional(),
    modelId: id.optional(),
    top: z.number().int().min(1, 'top must be at least 1').max(MAX_LIKELIHOOD_IMAGES).default(10),
    method: z.enum(['pf-ode', 'vlb'], { error: 'method must be pf-ode or vlb' }).default('pf-ode'),
    probes: probes.default(1),
    seed: seed.default(0),
    /** score only the first `limit` included images (default: all, up to the cap) */
    limit: z.number().int().min(1, 'limit must be at least 1').max(MAX_LIKELIHOOD_IMAGES).optional(),
    batch: likelihoodBatch.default(8),
    tol: tol.default(1e-3),
  })
  .strict();
export type DatasetOutliersRequest = z.output<typeof DatasetOutliersSchema>;

/** `gallery:typicality`: bits/dim of a gallery image under the checkpoint that made it (stored). */
export const TypicalitySchema = z
  .object({ id, method: z.enum(['pf-ode', 'vlb']).default('pf-ode'), probes: probes.default(4), seed: seed.default(0), tol: tol.default(1e-3) })
  .strict();
