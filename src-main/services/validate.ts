/**
 * Validation of requests at the edge (IPC, HTTP, CLI all pass through here), with zod. A failed
 * check becomes ApiError('bad_request') naming the field and what was expected.
 */
import { z } from 'zod';
import { ApiError } from '../api/errors';
import type { Channel } from '../api/channels';
import { SAMPLER_NAMES } from '../diffusion/samplers/index';
import { boundedNumber as bounded, samplerOptionsSchema } from './sampler-schema';

const id = z.string().min(1).max(100);
const empty = z.object({}).strict();
const tag = z.string().trim().min(1).max(64).regex(/^[^\u0000-\u001f,]+$/, 'tags are 1–64 characters without commas or control characters');

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

// Training settings are validated field by field by resolveTrainConfig (errors name the field).
const trainConfig = z.record(z.string(), z.unknown());

const samplerOptions = samplerOptionsSchema();

const seed = z.number().int().min(0).max(0xffffffff);

export const REQUEST_SCHEMAS: Record<Channel, z.ZodType> = {
  'system:info': empty,
  'datasets:import': z
    .object({
      dir: z.string().min(1, 'dir: give the folder of images to import'),
      name: z.string().min(1).max(200).optional(),
      imageSize: z.number().int().optional(),
      background: z.string().regex(/^#[0-9a-fA-F]{6}$/, 'background must be a colour like #ffffff').optional(),
      crop: z.enum(['center', 'fit']).optional(),
    })
    .strict(),
  'datasets:list': empty,
  'datasets:preview': z
    .object({
      dir: z.string().min(1, 'dir: give the folder of images to preview'),
      name: z.string().optional(),
      imageSize: z.number().int().optional(),
      background: z.string().regex(/^#[0-9a-fA-F]{6}$/, 'background must be a colour like #ffffff').optional(),
      crop: z.enum(['center', 'fit']).optional(),
      count: z.number().int().min(1).max(16).optional(),
    })
    .strict(),
  'datasets:get': z.object({ id }).strict(),
  'datasets:remove': z.object({ id }).strict(),
  'runs:start': z
    .object({
      datasetId: id,
      seed: seed.optional(),
      config: trainConfig.optional(),
      initCheckpointId: id.optional(),
      initModelId: id.optional(),
      resetOptimizer: z.boolean().optional(),
    })
    .strict(),
  'runs:resume': z.object({ id }).strict(),
  'runs:pause': z.object({ id }).strict(),
  'runs:estimate': z.object({ datasetId: id, config: trainConfig.optional() }).strict(),
  'models:list': empty,
  'models:import': z
    .object({ file: z.string().min(1), prediction: z.enum(['eps', 'x0', 'v']), schedule: z.unknown(), name: z.string().min(1).max(200).optional() })
    .strict(),
  'runs:list': z.object({ datasetId: id.optional() }).strict(),
  'runs:get': z.object({ id }).strict(),
  'runs:cancel': z.object({ id }).strict(),
  'checkpoints:list': z.object({ runId: id.optional() }).strict(),
  'sample:generate': z
    .object({
      runId: id.optional(),
      checkpointId: id.optional(),
      modelId: z.string().min(1).max(100).optional(),
      count: z.number().int().min(1).max(256),
      seed: seed.optional(),
      sampler: z.enum(SAMPLER_NAMES).optional(),
      steps: bounded('steps').optional(),
      options: samplerOptions.optional(),
      origin: z
        .discriminatedUnion('kind', [
          z.object({ kind: z.literal('variation'), subseed: seed, strength: z.number().min(0).max(1) }).strict(),
          z.object({ kind: z.literal('interpolation'), seedB: seed, frames: z.number().int().min(2).max(256) }).strict(),
          z.object({ kind: z.literal('img2img'), strength: z.number().gt(0).max(1), sourceSampleId: id.optional(), sourceDatasetItemId: id.optional() }).strict(),
        ])
        .optional(),
      parentId: id.optional(),
      engine: z.enum(['auto', 'onnx', 'tfjs']).optional(),
    })
    .strict(),
  'gallery:query': z
    .object({
      runId: id.optional(),
      checkpointSha256: z.string().regex(/^[0-9a-fA-F]{4,64}$/).optional(),
      sampler: z.enum(SAMPLER_NAMES).optional(),
      steps: z.number().int().min(1).optional(),
      tag: tag.optional(),
      favorite: z.boolean().optional(),
      from: z.string().max(40).optional(),
      to: z.string().max(40).optional(),
      text: z.string().max(200).optional(),
      trash: z.boolean().optional(),
      sort: z.enum(['newest', 'oldest', 'seed']).optional(),
      limit: z.number().int().min(1).max(10_000).optional(),
      offset: z.number().int().min(0).optional(),
    })
    .strict(),
  'gallery:get': z.object({ id }).strict(),
  'gallery:delete': z.object({ ids: bulkIds(MAX_BULK_IDS) }).strict(),
  'gallery:restore': z.object({ ids: bulkIds(MAX_BULK_IDS) }).strict(),
  // No ids: the whole trash. An empty list is refused (an empty selection must not empty the trash).
  'gallery:emptyTrash': z
    .object({ ids: bulkIds(MAX_BULK_IDS, 'give at least one id, or leave ids out to empty the whole trash').optional() })
    .strict(),
  'gallery:meta': z.object({ id }).strict(),
  'gallery:update': z
    .object({
      ids: bulkIds(MAX_BULK_IDS),
      favorite: z.boolean().optional(),
      addTags: tagList.optional(),
      removeTags: tagList.optional(),
      collection: z.string().trim().min(1).max(100).optional(),
    })
    .strict(),
  'gallery:reproduce': z.object({ id }).strict(),
  'gallery:export': z
    .object({
      ids: bulkIds(MAX_EXPORT_IDS),
      to: z.string().min(1, 'to: give a folder or a .zip file').optional(),
      format: z.enum(['png', 'webp']).optional(),
      contactSheet: z.boolean().optional(),
      upscale: z.number().int('upscale: give a whole number from 1 to 16').min(1, 'upscale: give a whole number from 1 to 16').max(16, 'upscale: give a whole number from 1 to 16').optional(),
      download: z.boolean().optional(),
    })
    .strict()
    .refine((r) => r.download || r.to !== undefined, { message: 'to: give a folder or a .zip file (or set download)', path: ['to'] }),
  'jobs:list': empty,
  'jobs:cancel': z.object({ id }).strict(),
};

export function validateRequest<T>(channel: Channel, req: unknown): T {
  const schema = REQUEST_SCHEMAS[channel];
  const r = schema.safeParse(req ?? {});
  if (!r.success) {
    const issues = r.error.issues.map((i) => ({ field: i.path.join('.') || '(request)', message: i.message }));
    const first = issues[0];
    throw new ApiError('bad_request', `${channel}: ${first.field}: ${first.message}`, { issues });
  }
  return r.data as T;
}
