/**
 * Sampling: generate images from a run's latest checkpoint, a checkpoint, or a model (bundled or
 * imported), with seeds, variations, interpolations or image-to-image sources; record each image
 * in the gallery as its job writes it.
 */
import { promises as fs } from 'node:fs';
import { createHash, randomInt } from 'node:crypto';
import sharp from 'sharp';
import { ApiError, toApiError } from '../api/errors';
import type { GenerateRequest } from '../api/requests';
import type { GenerateResult, JobProgress, OrtProviderChoice, SampleGuidance, SampleLora, SampleOrigin, SampleRecord, SamplerName, SamplerOptions, TrainConfig } from '../api/types';
import { adapterFileOf, decodeAdapterFile } from '../network/lora-file';
import { readUserFile } from './context';
import { readCache } from '../datasets/cache';
import { DiffusionConfigError, makeProcess, validateSamplerSettings } from '../diffusion/index';
import { byteToModel } from '../diffusion/pixels';
import type { SampleJobSpec } from '../jobs/protocol';
import { newId } from '../db/ids';
import type { StoredCheckpoint } from '../db/repositories';
import { emitProgress, SCRATCH_PROGRESS, type ServiceContext } from './context';
import { checkpointSource, type CheckpointSource, type ModelService } from './models';
import { APP_VERSION } from './system';

/** What one sampling job needs: the model, the sampler settings and each image's seed and origin. */
export interface SampleSpecParams {
  checkpoint: StoredCheckpoint;
  /** the config to sample with and the run (if any) that wrote the checkpoint */
  source: CheckpointSource;
  sampler: SamplerName;
  steps?: number;
  options: SamplerOptions;
  seeds: number[];
  origins: SampleOrigin[];
  sourceImage?: Float32Array;
  parentId: string | null;
  engine?: 'auto' | 'onnx' | 'tfjs';
  provider?: OrtProviderChoice;
  /** denoising animation: collect image 0's per-step frames here */
  frames?: { what: 'x0' | 'xt'; out: Uint8Array[] };
  /** reproduce: write to a scratch folder and record nothing */
  scratchDir?: { abs: string; rel: string };
  /** a LoRA adapter baked in at `scale` (resolveLora): the absolute file and the record's reference */
  lora?: { abs: string; record: SampleLora };
  /** class-conditional models: the class (by name) and guidance scale asked for */
  guidance?: { class?: string | null; scale?: number };
}

/**
 * The class and guidance scale a request asks of a model, checked before any compute: --class and
 * --guidance need a class-conditional model, the class must be one of its classes, W ≥ 0. A class-
 * conditional model sampled without a class gives unconditional samples (the null class).
 */
export function resolveGuidance(config: TrainConfig, asked: { class?: string | null; scale?: number } | undefined): SampleGuidance | undefined {
  const cls = asked?.class ?? undefined;
  const scale = asked?.scale;
  if (!config.classConditional) {
    if (cls !== undefined) throw new ApiError('bad_request', `class "${cls}": this model is not class-conditional; --class needs a model trained with --class-conditional on a labelled dataset.`, { field: 'class' });
    if (scale !== undefined) throw new ApiError('bad_request', 'guidance: this model is not class-conditional, so there is nothing to guide; leave --guidance out or sample a class-conditional model.', { field: 'guidance' });
    return undefined;
  }
  const classes = config.classes ?? [];
  if (scale !== undefined && (typeof scale !== 'number' || !Number.isFinite(scale) || scale < 0)) {
    throw new ApiError('bad_request', `guidance must be a number ≥ 0 (1 = the plain class-conditional model, 0 = unconditional, 2–5 = stronger class likeness), got ${JSON.stringify(scale)}.`, { field: 'guidance' });
  }
  if (cls === undefined) {
    if (scale !== undefined && scale !== 0) throw new ApiError('bad_request', `guidance ${scale} needs a class to guide towards: add --class (one of ${classes.join(', ')}).`, { field: 'class' });
    return { class: null, classIndex: classes.length, scale: 0 };
  }
  const classIndex = classes.indexOf(cls);
  if (classIndex < 0) throw new ApiError('bad_request', `Unknown class "${cls}"; this model's classes are ${classes.join(', ')}.`, { field: 'class' });
  return { class: cls, classIndex, scale: scale ?? 1 };
}

export class SamplingService {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly models: ModelService,
  ) {}

  /** The checkpoint a request names: a run's latest, a given checkpoint, or a bundled or imported model's. */
  async checkpointFor(req: { runId?: string; checkpointId?: string; modelId?: string }): Promise<StoredCheckpoint> {
    let checkpoint: StoredCheckpoint | undefined;
    if (req.checkpointId) {
      checkpoint = await this.ctx.store.checkpoints.get(req.checkpointId);
      if (!checkpoint) throw new ApiError('not_found', `No checkpoint ${req.checkpointId}.`);
    } else if (req.runId) {
      const run = await this.ctx.store.runs.get(req.runId);
      if (!run) throw new ApiError('not_found', `No run ${req.runId}. List runs with \`sfumato runs list\`.`);
      const latest = await this.ctx.store.checkpoints.latest(req.runId);
      checkpoint = latest && { ...latest, modelId: null };
      if (!checkpoint) throw new ApiError('conflict', `Run ${req.runId} has no checkpoint yet; wait for its first checkpoint or train it longer.`);
    } else if (req.modelId) {
      checkpoint = await this.models.checkpointOf(req.modelId);
    } else {
      throw new ApiError('bad_request', 'Say what to sample from: runId (its latest checkpoint), checkpointId or modelId (a bundled model).', { field: 'runId' });
    }
    return checkpoint;
  }

  async generate(req: GenerateRequest, onProgress?: (p: JobProgress) => void): Promise<GenerateResult> {
    const checkpoint = await this.checkpointFor(req);
    const source = await checkpointSource(this.ctx.store, checkpoint);
    resolveGuidance(source.config, { class: req.class, scale: req.guidance }); // before any image is read
    const seed0 = req.seed ?? randomInt(0, 2 ** 31);
    let seeds: number[];
    let origins: SampleOrigin[];
    let sourceImage: Float32Array | undefined;
    const o = req.origin;
    if (!o) {
      seeds = Array.from({ length: req.count }, (_, i) => seed0 + i);
      origins = seeds.map(() => ({ kind: 'seed' }));
    } else if (o.kind === 'variation') {
      if (!(o.strength >= 0 && o.strength <= 1)) throw new ApiError('bad_request', 'origin.strength must be between 0 and 1.', { field: 'origin.strength' });
      seeds = Array.from({ length: req.count }, () => seed0);
      // Each variation blends the same base seed toward a different subseed.
      origins = seeds.map((_, i) => ({ kind: 'variation', subseed: o.subseed + i, strength: o.strength }));
    } else if (o.kind === 'interpolation') {
      if (!(Number.isInteger(o.frames) && o.frames >= 2 && o.frames <= 256)) throw new ApiError('bad_request', 'origin.frames must be an integer from 2 to 256.', { field: 'origin.frames' });
      seeds = Array.from({ length: o.frames }, () => seed0);
      origins = seeds.map((_, i) => ({ kind: 'interpolation', seedB: o.seedB, t: i / (o.frames - 1) }));
    } else {
      if (!(o.strength > 0 && o.strength <= 1)) throw new ApiError('bad_request', 'origin.strength must be in (0, 1]: the share of the schedule to re-noise.', { field: 'origin.strength' });
      const src = await this.sourcePixels(o, source.config.imageSize);
      sourceImage = src.pixels;
      seeds = Array.from({ length: req.count }, (_, i) => seed0 + i);
      origins = seeds.map(() => ({ kind: 'img2img', strength: o.strength, source: src.ref }));
    }
    const parentId = req.parentId ?? (o?.kind === 'img2img' ? o.sourceSampleId : undefined) ?? null;
    if (parentId && !(await this.ctx.store.samples.get(parentId))) throw new ApiError('not_found', `No gallery sample ${parentId}.`);
    const lora = await this.resolveLora(checkpoint, req.lora, req.loraScale);
    return this.runSampling({ checkpoint, source, sampler: req.sampler ?? 'ddim', steps: req.steps, options: req.options ?? {}, seeds, origins, sourceImage, parentId, engine: req.engine, provider: req.provider, guidance: { class: req.class, scale: req.guidance }, lora }, onProgress);
  }

  /**
   * The LoRA adapter a request applies, checked before any job: a file given (`lora`, any of ours,
   * at `scale` default 1) or, with only `scale`, the adapter of the LoRA run that wrote the
   * checkpoint (the .lora.safetensors beside it). Also used by reproduce, which names the file by sha256.
   */
  async resolveLora(checkpoint: StoredCheckpoint, file: string | undefined, scale: number | undefined, sha256?: string): Promise<SampleSpecParams['lora']> {
    if (file === undefined && scale === undefined) return undefined;
    if (scale !== undefined && !Number.isFinite(scale)) throw new ApiError('bad_request', `loraScale must be a finite number (e.g. 0.5 or 1), got ${scale}.`, { field: 'loraScale' });
    if (checkpoint.file.endsWith('.onnx')) throw new ApiError('bad_request', 'An imported ONNX model has no weights to add a LoRA adapter to; sample a checkpoint or bundled model.', { field: 'lora' });
    let abs: string;
    let label: string;
    let bytes: Buffer;
    if (file !== undefined) {
      abs = file;
      label = file;
      bytes = await readUserFile(file, 512 * 1024 * 1024, 'lora');
    } else {
      const rel = adapterFileOf(checkpoint.file);
      abs = this.ctx.library.abs(rel);
      label = rel;
      bytes = await fs.readFile(abs).catch(() => {
        throw new ApiError('bad_request', `Checkpoint ${checkpoint.id} is not from a LoRA run (no adapter file ${rel}); give an adapter file with --lora FILE, or sample without --lora-scale.`, { field: 'loraScale' });
      });
    }
    try {
      decodeAdapterFile(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), label);
    } catch (e) {
      throw toApiError(e);
    }
    const digest = createHash('sha256').update(bytes).digest('hex');
    if (sha256 && digest !== sha256) throw new ApiError('conflict', `The LoRA adapter ${label} has changed since the image was made (sha256 ${sha256.slice(0, 12)}…); it cannot be reproduced exactly.`, { field: 'lora' });
    return { abs, record: { sha256: digest, file: label, scale: scale ?? 1 } };
  }

  /** Pixels of an image-to-image source at the model size, NCHW in [-1, 1], with its reference. */
  async sourcePixels(
    o: { sourceSampleId?: string; sourceDatasetItemId?: string },
    size: number,
  ): Promise<{ pixels: Float32Array; ref: { sampleId?: string; datasetItemId?: string; sha256: string } }> {
    let rgb: Uint8Array;
    let ref: { sampleId?: string; datasetItemId?: string };
    if (o.sourceSampleId) {
      const smp = await this.ctx.store.samples.get(o.sourceSampleId);
      if (!smp) throw new ApiError('not_found', `No gallery sample ${o.sourceSampleId}.`);
      // a gallery file is ours, but a bounded decode costs nothing: its recorded size, checked from the header
      const { data } = await sharp(this.ctx.library.abs(smp.file), { limitInputPixels: Math.max(1, smp.width * smp.height) })
        .removeAlpha()
        .resize(size, size, { fit: 'cover', kernel: 'lanczos3' })
        .raw()
        .toBuffer({ resolveWithObject: true })
        .catch((e: Error) => {
          throw new ApiError('conflict', `The gallery image of ${smp.id} (${smp.file}) cannot be read as the ${smp.width} x ${smp.height} image it was (${e.message.split('\n')[0]}); it was changed on disk. Pick another source image.`, { field: 'origin.sourceSampleId' });
        });
      rgb = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      ref = { sampleId: smp.id };
    } else if (o.sourceDatasetItemId) {
      const item = await this.ctx.store.datasets.item(o.sourceDatasetItemId);
      if (!item) throw new ApiError('not_found', `No dataset item ${o.sourceDatasetItemId}.`);
      const cache = await readCache(this.ctx.library.abs((await this.ctx.store.datasets.cacheFile(item.datasetId))!));
      if (cache.size !== size) {
        throw new ApiError('bad_request', `The dataset was prepared at ${cache.size} px but the model works at ${size} px; re-import it at ${size} px.`, { field: 'origin.sourceDatasetItemId' });
      }
      const per = size * size * 3;
      rgb = cache.pixels.slice(item.index * per, (item.index + 1) * per);
      ref = { datasetItemId: item.id };
    } else {
      throw new ApiError('bad_request', 'image-to-image needs origin.sourceSampleId or origin.sourceDatasetItemId.', { field: 'origin' });
    }
    const sha256 = createHash('sha256').update(rgb).digest('hex');
    const pixels = new Float32Array(3 * size * size);
    for (let c = 0; c < 3; c++) for (let p = 0; p < size * size; p++) pixels[c * size * size + p] = byteToModel(rgb[p * 3 + c]);
    return { pixels, ref: { ...ref, sha256 } };
  }

  /**
   * Checks the sampler against the model's schedule (so a bad request fails before any job starts)
   * and builds the sampling job's spec with fresh sample ids; starts nothing.
   */
  sampleSpec(p: SampleSpecParams, jobId = newId('job')): { spec: SampleJobSpec; steps: number | undefined } {
    const { checkpoint, source, sampler, options, seeds } = p;
    const config = source.config;
    const guidance = resolveGuidance(config, p.guidance);
    let steps: number | undefined;
    try {
      const process = makeProcess(config.schedule);
      const settings = validateSamplerSettings({ name: sampler, ...(sampler === 'pf-ode' ? {} : { steps: p.steps ?? 20 }), ...options }, process, 'sampler');
      steps = settings.steps;
      if (p.sourceImage && sampler === 'pf-ode') throw new DiffusionConfigError('sampler.name', 'image-to-image needs a fixed-step sampler (ddim, euler, heun, dpmpp-2m, …), not pf-ode');
    } catch (e) {
      if (e instanceof DiffusionConfigError) throw new ApiError('bad_request', e.message, { field: e.field });
      throw e;
    }
    const ids = seeds.map(() => newId('smp'));
    const outRel = p.scratchDir?.rel ?? this.ctx.library.rel('samples', new Date().toISOString().slice(0, 10));
    const spec: SampleJobSpec = {
      kind: 'sample',
      jobId,
      config,
      checkpointFile: this.ctx.library.abs(checkpoint.file),
      engine: p.engine ?? 'auto',
      ...(p.provider ? { provider: p.provider } : {}),
      seeds,
      sampler,
      steps,
      options,
      outDir: p.scratchDir?.abs ?? this.ctx.library.abs(outRel),
      outDirRel: outRel,
      names: ids,
      origins: p.origins,
      sourceImage: p.sourceImage,
      captureFrames: p.frames?.what,
      ...(p.lora ? { lora: { file: p.lora.abs, scale: p.lora.record.scale } } : {}),
      record: {
        sampler,
        samplerOptions: options,
        schedule: config.schedule,
        prediction: config.objective,
        checkpoint: { id: checkpoint.id, sha256: checkpoint.sha256 },
        runId: source.runId,
        width: config.imageSize,
        height: config.imageSize,
        appVersion: APP_VERSION,
        parentId: p.parentId,
        ...(guidance ? { guidance } : {}),
        ...(p.lora ? { lora: p.lora.record } : {}),
      },
    };
    return { spec, steps };
  }

  async runSampling(p: SampleSpecParams, onProgress?: (p: JobProgress) => void): Promise<GenerateResult> {
    const { source, seeds } = p;
    const { spec, steps } = this.sampleSpec(p);
    const jobId = spec.jobId;
    const samples: SampleRecord[] = [];
    let prog = { done: 0, total: seeds.length * (steps ?? 1) };
    const emit = (e: Omit<JobProgress, 'jobId' | 'kind' | 'runId'>) => {
      const full: JobProgress = { jobId, kind: 'sample', ...(source.runId ? { runId: source.runId } : {}), ...e };
      onProgress?.(full);
      if (!p.scratchDir) emitProgress(this.ctx, full);
      else this.ctx.events.emit(SCRATCH_PROGRESS, full);
    };
    const job = this.ctx.jobs.start(
      jobId,
      spec,
      async (msg) => {
        if (msg.type === 'frame') {
          p.frames?.out.push(msg.rgb);
        } else if (msg.type === 'sample-preview') {
          emit({ state: 'running', done: prog.done, total: prog.total, sampleIds: samples.map((s) => s.id), previewImage: msg.dataUrl, previewIndex: msg.image });
        } else if (msg.type === 'log') {
          // e.g. which execution provider runs the network and why the others do not
          emit({ state: 'running', done: -1, total: prog.total, sampleIds: samples.map((s) => s.id), message: msg.message });
        } else if (msg.type === 'sample-progress') {
          prog = { done: msg.done, total: msg.total };
          emit({ state: 'running', done: msg.done, total: msg.total, sampleIds: samples.map((s) => s.id) });
        } else if (msg.type === 'sample') {
          if (p.scratchDir) samples.push(msg.record);
          else {
            try {
              samples.push(await this.ctx.store.samples.insert(msg.record));
            } catch (e) {
              // The row could not be written (lock held past the retry budget, full disk): the
              // PNG goes too, and the job fails (JobManager stops it).
              await fs.rm(this.ctx.library.abs(msg.record.file), { force: true }).catch(() => undefined);
              throw e;
            }
          }
          emit({ state: 'running', done: prog.done, total: prog.total, sampleIds: samples.map((s) => s.id) });
        }
      },
      source.runId ? { runId: source.runId } : {},
      {
        onDiscard: async (msg) => {
          if (msg.type === 'sample' && !p.scratchDir) await fs.rm(this.ctx.library.abs(msg.record.file), { force: true }).catch(() => undefined);
        },
      },
    );
    if (job.info.state === 'queued') {
      emit({ state: 'queued', done: 0, total: prog.total, sampleIds: [], message: 'waiting for another sampling job to finish' });
      void job.started.then(() => emit({ state: 'running', done: 0, total: prog.total, sampleIds: [] }));
    }
    const outcome = await job.done;
    const sampleIds = samples.map((s) => s.id);
    if (outcome.state === 'failed' || outcome.state === 'interrupted') {
      emit({ state: 'failed', done: samples.length, total: seeds.length, sampleIds, error: { code: 'internal', message: outcome.error?.message ?? 'sampling failed' } });
      const code = outcome.error?.code === 'bad_request' || outcome.error?.code === 'unavailable' ? outcome.error.code : 'internal';
      throw new ApiError(code, `Sampling failed: ${outcome.error?.message ?? 'the job ended early'}`, { samplesWritten: sampleIds });
    }
    const cancelled = outcome.state === 'cancelled';
    emit({ state: cancelled ? 'cancelled' : 'completed', done: cancelled ? prog.done : prog.total, total: prog.total, sampleIds });
    return { jobId, samples, cancelled };
  }
}
