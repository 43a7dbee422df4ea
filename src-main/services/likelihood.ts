/**
 * Likelihood of the user's own model (issue 17): bits/dim of a run's (or a model's) checkpoint on
 * dataset images, the dataset outlier finder, and a gallery image's "how typical" score. Every
 * request is checked here (the model, the dataset, the image size, the held-out split) before a
 * likelihood job (jobs/likelihood-job.ts) starts; the job does the maths in its own process.
 *
 * Held-out images: runs have no separate split. What a run did NOT train on is known exactly,
 * though: the dataset's cache images outside its `run_images` row (images excluded before the run
 * started). Those are its held-out images; a run that trained on every image has none, and
 * `heldOut` then fails with what to do (exclude some images before starting a run, or score a
 * separately imported dataset of images it never saw).
 */
import { ApiError } from '../api/errors';
import type { DatasetOutliersRequest, EvalLikelihoodRequest } from '../api/requests';
import type { Dataset, DatasetItem, JobProgress, LikelihoodJobResult, LikelihoodReport, OutlierReport, Typicality } from '../api/types';
import { readCache } from '../datasets/cache';
import { uniforms } from '../diffusion/rng';
import type { StoredCheckpoint } from '../db/repositories';
import { newId } from '../db/ids';
import type { LikelihoodJobSpec } from '../jobs/protocol';
import { emitProgress, LIKELIHOOD_AT_CHECKPOINT, type ServiceContext } from './context';
import { checkpointSource, type CheckpointSource } from './models';
import type { SamplingService } from './sampling';
import { APP_VERSION } from './system';
import sharp from 'sharp';

/** The stream of the seeded image sample (a dataset subset for eval:likelihood). */
const SAMPLE_STREAM = 2 ** 40 + 17;

interface ModelRef {
  checkpoint: StoredCheckpoint;
  source: CheckpointSource;
}

/** `n` of `pool` chosen by a seeded Fisher–Yates shuffle, returned in cache order. */
export function seededSubset(pool: readonly number[], n: number, seed: number): number[] {
  const a = [...pool];
  const u = uniforms(seed, SAMPLE_STREAM, a.length);
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(u[i] * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a.slice(0, n).sort((x, y) => x - y);
}

/** HWC bytes of images `indices` of a cache to one NCHW byte array. */
export function gatherNchw(pixels: Uint8Array, indices: readonly number[], size: number): Uint8Array {
  const hw = size * size;
  const per = 3 * hw;
  const out = new Uint8Array(indices.length * per);
  indices.forEach((idx, k) => {
    const src = idx * per;
    for (let c = 0; c < 3; c++) for (let p = 0; p < hw; p++) out[k * per + c * hw + p] = pixels[src + p * 3 + c];
  });
  return out;
}

export class LikelihoodService {
  /** measurements started for runs with evalLikelihoodEvery, not yet finished */
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly ctx: ServiceContext,
    private readonly sampling: SamplingService,
  ) {
    ctx.events.on(LIKELIHOOD_AT_CHECKPOINT, (e: { runId: string; checkpointId: string }) => this.atCheckpoint(e.runId, e.checkpointId));
  }

  /**
   * `--eval-likelihood-every`: held-out bits/dim (PF-ODE, 16 images, seed 0) of a fresh checkpoint,
   * recorded with the run. It runs as its own job (the likelihood class, one at a time) beside the
   * training job; a failure is logged and does not touch the run.
   */
  private atCheckpoint(runId: string, checkpointId: string): void {
    const p = this.evaluate({ runId, checkpointId, heldOut: true, method: 'pf-ode', n: 16, probes: 1, seed: 0, batch: 8, tol: 1e-3, record: true })
      .then(
        () => undefined,
        (e: unknown) => {
          console.error(`[sfumato] likelihood of ${runId} at checkpoint ${checkpointId} failed: ${(e as Error).message}`);
        },
      )
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  /** Resolves when every checkpoint measurement started so far has ended (the CLI waits before it exits). */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  private async model(req: { runId?: string; checkpointId?: string; modelId?: string }): Promise<ModelRef> {
    const given = [req.runId, req.checkpointId, req.modelId].filter((v) => v !== undefined).length;
    if (given === 0) throw new ApiError('bad_request', 'Say which model to score with: runId (its latest checkpoint), checkpointId, or modelId (a bundled or imported model).', { field: 'runId' });
    if (req.checkpointId && req.modelId) throw new ApiError('bad_request', 'Give checkpointId or modelId, not both.', { field: 'checkpointId' });
    const checkpoint = await this.sampling.checkpointFor(req.checkpointId ? { checkpointId: req.checkpointId } : req.modelId ? { modelId: req.modelId } : { runId: req.runId });
    const source = await checkpointSource(this.ctx.store, checkpoint);
    if (req.runId && source.runId !== req.runId) throw new ApiError('bad_request', `Checkpoint ${checkpoint.id} is not from run ${req.runId}.`, { field: 'checkpointId' });
    if (req.runId && !(await this.ctx.store.runs.get(req.runId))) throw new ApiError('not_found', `No run ${req.runId}. List runs with \`sfumato runs list\`.`, { field: 'runId' });
    return { checkpoint, source };
  }

  private async dataset(id: string, field: string, modelSize: number): Promise<{ dataset: Dataset; items: DatasetItem[]; cacheFile: string }> {
    const dataset = await this.ctx.store.datasets.get(id);
    if (!dataset) throw new ApiError('not_found', `No dataset ${id}. List datasets with \`sfumato datasets list\`.`, { field });
    if (dataset.imageSize !== modelSize) {
      throw new ApiError(
        'bad_request',
        `Dataset ${id} was prepared at ${dataset.imageSize} px but the model works at ${modelSize} px; import the images again at ${modelSize} px (\`sfumato datasets import DIR --image-size ${modelSize}\`) and score that dataset.`,
        { field, datasetSize: dataset.imageSize, modelSize },
      );
    }
    const cacheFile = await this.ctx.store.datasets.cacheFile(id);
    if (!cacheFile) throw new ApiError('conflict', `Dataset ${id} has no prepared cache; import it again.`, { field });
    return { dataset, items: await this.ctx.store.datasets.items(id), cacheFile };
  }

  /** The run's held-out cache indices: images of its dataset it did not train on ([] when none). */
  private async heldOutIndices(runId: string, items: DatasetItem[]): Promise<number[]> {
    const trained = await this.ctx.store.datasets.runImages(runId);
    if (!trained) return [];
    const used = new Set(trained.indices);
    return items.map((i) => i.index).filter((i) => !used.has(i));
  }

  async evaluate(req: EvalLikelihoodRequest, onProgress?: (p: JobProgress) => void): Promise<LikelihoodReport> {
    const { checkpoint, source } = await this.model(req);
    const run = source.runId ? await this.ctx.store.runs.get(source.runId) : undefined;
    const datasetId = req.datasetId ?? run?.datasetId ?? undefined;
    if (!datasetId) throw new ApiError('bad_request', 'datasetId: say which dataset to score (a bundled or imported model has no dataset of its own).', { field: 'datasetId' });
    if (req.record && !source.runId) throw new ApiError('bad_request', 'record: only a run keeps a likelihood curve; give runId (or a checkpoint of a run).', { field: 'record' });
    const size = source.config.imageSize;
    const { items, cacheFile } = await this.dataset(datasetId, 'datasetId', size);
    let pool: number[];
    let images: LikelihoodReport['images'];
    const held = run && run.datasetId === datasetId ? await this.heldOutIndices(run.id, items) : [];
    if (req.heldOut) {
      if (!run) throw new ApiError('bad_request', 'heldOut: only a run has held-out images; give runId.', { field: 'heldOut' });
      if (run.datasetId !== datasetId) throw new ApiError('bad_request', `heldOut: run ${run.id} trained on dataset ${run.datasetId ?? '(none)'}, not ${datasetId}; drop datasetId or heldOut.`, { field: 'heldOut' });
      if (!held.length) {
        throw new ApiError(
          'bad_request',
          `Run ${run.id} has no held-out split: it trained on every image of dataset ${datasetId}. To get one, exclude some images from the dataset (Datasets page, or \`sfumato datasets exclude\`) before starting a run — the run's held-out images are those it did not train on — or score images it never saw by importing them as another dataset and passing --dataset.`,
          { field: 'heldOut', runId: run.id },
        );
      }
      pool = held;
      images = 'held-out';
    } else if (held.length && !req.datasetId) {
      pool = held;
      images = 'held-out';
    } else {
      pool = items.filter((i) => !i.excluded).map((i) => i.index);
      images = 'sample';
    }
    if (!pool.length) throw new ApiError('bad_request', `Dataset ${datasetId} has no included images to score.`, { field: 'datasetId' });
    const chosen = pool.length <= req.n ? [...pool] : seededSubset(pool, req.n, req.seed);
    if (chosen.length === pool.length && images === 'sample') images = 'all';
    const cache = await readCache(this.ctx.library.abs(cacheFile));
    const byIndex = new Map(items.map((i) => [i.index, i]));
    const job = await this.runJob(
      { checkpoint, source, pixels: gatherNchw(cache.pixels, chosen, size), method: req.method, probes: req.probes, seed: req.seed, batch: req.batch, tol: req.tol },
      { ...(source.runId ? { runId: source.runId } : {}), datasetId },
      onProgress,
    );
    const { result, jobId } = job;
    const perImage = chosen.map((idx, k) => {
      const it = byIndex.get(idx)!;
      const bpd: Partial<Record<'pf-ode' | 'vlb', number>> = {};
      for (const e of result.estimates) bpd[e.method] = e.perImage[k];
      return { datasetItemId: it.id, file: it.file, bitsPerDim: bpd };
    });
    const report: LikelihoodReport = {
      runId: source.runId,
      modelId: source.modelId,
      checkpoint: { id: checkpoint.id, sha256: checkpoint.sha256 },
      datasetId,
      images,
      n: chosen.length,
      probes: req.probes,
      seed: req.seed,
      batch: req.batch,
      results: result.estimates.map((e) => ({ method: e.method, bitsPerDim: e.bitsPerDim, stdErr: e.stdErr, nfe: e.nfe, data: e.data })),
      perImage,
      backend: result.backend,
      wallSeconds: result.wallSeconds,
      jobId,
      cancelled: false,
    };
    if (req.record && source.runId) {
      for (const e of result.estimates) {
        await this.ctx.store.likelihood.addRunPoint(source.runId, {
          checkpointId: checkpoint.id,
          step: checkpoint.step ?? 0,
          method: e.method,
          images,
          n: chosen.length,
          bitsPerDim: e.bitsPerDim,
          stdErr: e.stdErr,
          computedAt: new Date().toISOString(),
        });
      }
    }
    return report;
  }

  async outliers(req: DatasetOutliersRequest, onProgress?: (p: JobProgress) => void): Promise<OutlierReport> {
    const { checkpoint, source } = await this.model(req);
    const size = source.config.imageSize;
    const { items, cacheFile } = await this.dataset(req.id, 'id', size);
    const included = items.filter((i) => !i.excluded).sort((a, b) => a.index - b.index);
    if (!included.length) throw new ApiError('bad_request', `Dataset ${req.id} has no included images to rank.`, { field: 'id' });
    const scored = included.slice(0, req.limit ?? included.length);
    if (scored.length > 4096) throw new ApiError('bad_request', `Dataset ${req.id} has ${scored.length} included images; rank at most 4096 at a time (give limit).`, { field: 'limit' });
    const cache = await readCache(this.ctx.library.abs(cacheFile));
    const { result, jobId } = await this.runJob(
      { checkpoint, source, pixels: gatherNchw(cache.pixels, scored.map((i) => i.index), size), method: req.method, probes: req.probes, seed: req.seed, batch: req.batch, tol: req.tol },
      { ...(source.runId ? { runId: source.runId } : {}), datasetId: req.id },
      onProgress,
    );
    const est = result.estimates[0];
    const ranked = scored.map((it, k) => ({ datasetItemId: it.id, file: it.file, index: it.index, bitsPerDim: est.perImage[k] })).sort((a, b) => b.bitsPerDim - a.bitsPerDim);
    return {
      datasetId: req.id,
      runId: source.runId,
      modelId: source.modelId,
      checkpoint: { id: checkpoint.id, sha256: checkpoint.sha256 },
      method: est.method,
      scored: scored.length,
      meanBitsPerDim: est.bitsPerDim,
      outliers: ranked.slice(0, req.top).map((o, r) => ({ ...o, rank: r + 1 })),
      wallSeconds: result.wallSeconds,
      jobId,
    };
  }

  /** Bits/dim of a gallery image under the checkpoint that made it; stored with the sample. */
  async typicality(req: { id: string; method: 'pf-ode' | 'vlb'; probes: number; seed: number; tol: number }, onProgress?: (p: JobProgress) => void): Promise<Typicality> {
    const smp = await this.ctx.store.samples.get(req.id);
    if (!smp) throw new ApiError('not_found', `No gallery sample ${req.id}.`, { field: 'id' });
    if (smp.kind === 'grid') throw new ApiError('bad_request', `${req.id} is an X/Y grid image, not a sample of one model; score one of its cells.`, { field: 'id' });
    const checkpoint = await this.ctx.store.checkpoints.get(smp.checkpoint.id);
    if (!checkpoint) throw new ApiError('conflict', `The checkpoint ${smp.checkpoint.id} that made ${req.id} is no longer in the library.`, { field: 'id' });
    const source = await checkpointSource(this.ctx.store, checkpoint);
    const size = source.config.imageSize;
    if (smp.width !== size || smp.height !== size) throw new ApiError('bad_request', `${req.id} is ${smp.width} x ${smp.height} but its model works at ${size} px.`, { field: 'id' });
    const { data, info } = await sharp(this.ctx.library.abs(smp.file), { limitInputPixels: size * size })
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true })
      .catch((e: Error) => {
        throw new ApiError('conflict', `The gallery image ${smp.file} cannot be read (${e.message.split('\n')[0]}).`, { field: 'id' });
      });
    if (info.width !== size || info.height !== size || info.channels !== 3) throw new ApiError('conflict', `The gallery image ${smp.file} is not the ${size} px RGB image it was recorded as.`, { field: 'id' });
    const pixels = gatherNchw(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), [0], size);
    const { result } = await this.runJob({ checkpoint, source, pixels, method: req.method, probes: req.probes, seed: req.seed, batch: 1, tol: req.tol }, source.runId ? { runId: source.runId } : {}, onProgress);
    const e = result.estimates[0];
    const t: Typicality = { sampleId: smp.id, bitsPerDim: e.bitsPerDim, stdErr: e.stdErr, method: e.method, probes: req.probes, seed: req.seed, checkpointId: checkpoint.id, computedAt: new Date().toISOString() };
    await this.ctx.store.likelihood.setTypicality(t);
    return t;
  }

  /** Starts a likelihood job and waits for it, relaying progress with an ETA. */
  private async runJob(
    p: { checkpoint: StoredCheckpoint; source: CheckpointSource; pixels: Uint8Array; method: LikelihoodJobSpec['method']; probes: number; seed: number; batch: number; tol: number },
    extra: { runId?: string; datasetId?: string },
    onProgress?: (p: JobProgress) => void,
  ): Promise<{ result: LikelihoodJobResult; jobId: string }> {
    const jobId = newId('job');
    const spec: LikelihoodJobSpec = {
      kind: 'likelihood',
      jobId,
      config: p.source.config,
      checkpointFile: this.ctx.library.abs(p.checkpoint.file),
      engine: 'auto',
      appVersion: APP_VERSION,
      pixels: p.pixels,
      method: p.method,
      probes: p.probes,
      seed: p.seed,
      batch: p.batch,
      rtol: p.tol,
      atol: p.tol,
    };
    const TOTAL = 1000;
    let t0 = 0;
    let lastDone = 0;
    let result: LikelihoodJobResult | undefined;
    const emit = (e: Omit<JobProgress, 'jobId' | 'kind'>) => {
      const full: JobProgress = { jobId, kind: 'likelihood', ...extra, ...e };
      onProgress?.(full);
      emitProgress(this.ctx, full);
    };
    const job = this.ctx.jobs.start(
      jobId,
      spec,
      (msg) => {
        if (msg.type === 'started') {
          t0 = performance.now();
          emit({ state: 'running', done: 0, total: TOTAL, message: `scoring on ${msg.backend}` });
        } else if (msg.type === 'likelihood-progress') {
          const f = msg.fraction;
          const el = (performance.now() - t0) / 1000;
          lastDone = Math.round(f * TOTAL);
          emit({ state: 'running', done: lastDone, total: TOTAL, ...(f > 0.02 ? { etaSec: (el * (1 - f)) / f } : {}) });
        } else if (msg.type === 'likelihood-done') result = msg.result;
      },
      extra,
    );
    if (job.info.state === 'queued') emit({ state: 'queued', done: 0, total: TOTAL, message: 'waiting for another likelihood job to finish' });
    const outcome = await job.done;
    if (outcome.state === 'cancelled') {
      emit({ state: 'cancelled', done: lastDone, total: TOTAL });
      throw new ApiError('cancelled', 'The likelihood evaluation was cancelled; nothing was stored.');
    }
    if (!result) {
      emit({ state: 'failed', done: lastDone, total: TOTAL, error: { code: 'internal', message: outcome.error?.message ?? 'the likelihood job ended early' } });
      const code = outcome.error?.code;
      throw new ApiError(code === 'bad_request' || code === 'unavailable' ? code : 'internal', `Likelihood failed: ${outcome.error?.message ?? 'the job ended early'}`);
    }
    emit({ state: 'completed', done: TOTAL, total: TOTAL });
    return { result, jobId };
  }
}
