/**
 * The training job, run inside a job process (job-process.ts): prepare the backend, build or
 * restore the trainer, train to the configured step, write checkpoints atomically and announce
 * them, report every step's loss (batched messages), and preview grids.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { JobContext, TrainJobSpec } from './protocol';
import { readCache, selectCacheImages } from '../datasets/cache';
import { libraryRootOf, writeFileAtomic } from '../db/files';
import { APP_VERSION } from '../version';
import { AbortError } from '../diffusion/index';
import { parseWeights } from '../network/weights';
import { initTrainingBackend } from '../training/backend';
import { gradientEngineOf } from '../training/backends/ladder';
import { Trainer } from '../training/trainer';
import { chooseTrainingProvider } from '../training/onnx/provider-probe';
import type { OrtProvider } from '../onnx/session';
import { previewGrid, sampleWithWeights } from '../training/preview';
import { MemorisationProbe, nchwToNhwc } from '../training/memorisation';
import { HELD_OUT_SEEDS, HeldOutProbe } from '../training/heldout-quality';
import { adapterFileOf, encodeAdapterFile } from '../network/lora-file';

/** Progress messages are batched to at most this rate; every step's loss is still reported. */
const PROGRESS_INTERVAL_MS = 250;

export async function runTrainJob(spec: TrainJobSpec, ctx: JobContext): Promise<void> {
  // a provider other than auto asks for the ONNX Runtime engine (training/config.ts checks the pair)
  const requestedProvider = spec.config.provider ?? 'auto';
  const backend = await initTrainingBackend(spec.config.backend === 'auto' && requestedProvider !== 'auto' ? 'onnxruntime' : spec.config.backend);
  // On the ONNX Runtime engine the execution provider is chosen by probing (onnx/providers.ts);
  // the run records it as its backend (onnxruntime-webgpu, ...) and every provider left out, with
  // why, goes to the job's log and the started message.
  let provider: OrtProvider | undefined;
  const unavailable = { ...backend.unavailable };
  if (gradientEngineOf(backend.active) === 'onnxruntime') {
    const choice = await chooseTrainingProvider(requestedProvider, (message) => ctx.post({ type: 'log', message }));
    provider = choice.provider;
    for (const r of choice.table) if (!r.selected) unavailable[`onnxruntime-${r.provider}`] = r.why;
  }
  ctx.post({ type: 'started', backend: provider ? `${backend.active}-${provider}` : backend.active, unavailable });
  const whole = await readCache(spec.datasetCache);
  // Excluded images are left out: the run trains on the images recorded when it started.
  const selected = spec.datasetIndices ? selectCacheImages(whole, spec.datasetIndices) : whole;
  const cache = spec.datasetLabels ? { ...selected, labels: Int32Array.from(spec.datasetLabels) } : selected;
  const init = spec.init
    ? {
        init: { parsed: parseWeights(new Uint8Array(await fs.readFile(spec.init.file))), preferEma: spec.init.preferEma },
        resume: spec.init.mode === 'resume',
        keepOptimizer: spec.init.keepOptimizer,
      }
    : {};
  const trainer = new Trainer(spec.config, spec.seed, cache, { ...init, gradients: gradientEngineOf(backend.active), provider });
  const savedMeta = init.init ? (init.init.parsed.meta as Record<string, unknown>) : undefined;
  if (spec.init?.mode === 'resume' && savedMeta) {
    const savedShards = Number(savedMeta.shards ?? 1);
    const savedEngine = String(savedMeta.gradients ?? 'tfjs');
    if (savedEngine !== trainer.gradients) {
      ctx.post({
        type: 'log',
        message: `resuming with gradients from ${trainer.gradients} where the run used ${savedEngine}: the losses will not repeat the uninterrupted run exactly (choose the run's backend to match)`,
      });
    } else if (savedShards !== trainer.shards) {
      ctx.post({
        type: 'log',
        message: `resuming with ${trainer.shards} gradient shard(s) where the run used ${savedShards}: the losses will not repeat the uninterrupted run exactly (set workers to match)`,
      });
    }
  }
  const total = spec.config.steps;
  let pending: { step: number; loss: number }[] = [];
  let lastPost = 0;
  let last = { loss: NaN, gradNorm: 0, lr: 0 };
  const t0 = performance.now();
  const stepsAtT0 = trainer.step;

  const checkpoint = async () => {
    const bytes = trainer.checkpointBytes({ appVersion: APP_VERSION, runId: spec.runId, loss: last.loss });
    const name = `step-${String(trainer.step).padStart(8, '0')}.sfwt`;
    await writeFileAtomic(join(spec.checkpointDir, name), bytes, { folder: libraryRootOf(spec.checkpointDir, spec.checkpointDirRel) });
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (trainer.lora) {
      // the adapters as their own small file beside the checkpoint (network/lora-file.ts): the EMA ones, what samples use
      const adapterBytes = encodeAdapterFile({
        lora: trainer.lora.config,
        config: trainer.model.config,
        adapters: trainer.lora.adapters,
        tensors: trainer.adapterTensors('ema').map((t) => t.data),
        baseSha256: spec.baseSha256 ?? '',
        appVersion: APP_VERSION,
        weights: 'ema',
      });
      await writeFileAtomic(join(spec.checkpointDir, adapterFileOf(name)), adapterBytes, { folder: libraryRootOf(spec.checkpointDir, spec.checkpointDirRel) });
    }
    ctx.post({
      type: 'checkpoint',
      step: trainer.step,
      file: `${spec.checkpointDirRel}/${name}`,
      sha256,
      weightsDigest: trainer.weightsDigest(),
      loss: Number.isFinite(last.loss) ? last.loss : null,
    });
  };
  const flush = () => {
    if (!pending.length) return;
    const elapsed = (performance.now() - t0) / 1000;
    ctx.post({
      type: 'train-progress',
      step: trainer.step,
      total,
      losses: pending,
      stepsPerSec: elapsed > 0 ? (trainer.step - stepsAtT0) / elapsed : 0,
      lr: last.lr,
      gradNorm: last.gradNorm,
    });
    pending = [];
    lastPost = performance.now();
  };

  if (spec.estimateSteps) {
    // Calibration only: one warm-up step, then time `estimateSteps` steps; nothing is written.
    try {
      await trainer.trainStep();
      const t1 = performance.now();
      for (let k = 0; k < spec.estimateSteps; k++) {
        if (ctx.signal.aborted) throw new AbortError();
        await trainer.trainStep();
      }
      ctx.post({ type: 'estimate', secondsPerStep: (performance.now() - t1) / 1000 / spec.estimateSteps, steps: spec.estimateSteps });
    } finally {
      await trainer.dispose();
    }
    return;
  }

  let lastCheckpointStep = trainer.step;
  /** the copying signal's reference set, built at the first preview (null: too few images) */
  let probe: MemorisationProbe | null | undefined;
  // runs with held-out images: built once, at the start (training/heldout-quality.ts)
  const heldOutProbe = spec.config.previewEvery > 0 ? HeldOutProbe.fromCache(whole, spec.datasetIndices) : undefined;
  try {
    while (trainer.step < total) {
      if (ctx.signal.aborted) throw new AbortError();
      if (ctx.pauseRequested()) {
        // Pause = a checkpoint at the current step, then stop; resume continues from it exactly.
        flush();
        if (lastCheckpointStep !== trainer.step) await checkpoint();
        return;
      }
      last = await trainer.trainStep();
      pending.push({ step: trainer.step, loss: last.loss });
      if (performance.now() - lastPost >= PROGRESS_INTERVAL_MS || trainer.step === total) flush();
      if (trainer.step % spec.config.checkpointEvery === 0 || trainer.step === total) {
        flush();
        await checkpoint();
        lastCheckpointStep = trainer.step;
      }
      if (spec.config.previewEvery > 0 && (trainer.step % spec.config.previewEvery === 0 || trainer.step === total)) {
        const pw = trainer.previewWeights();
        let grid: Awaited<ReturnType<typeof previewGrid>>;
        let heldOutSamples: Float32Array | undefined;
        try {
          grid = await previewGrid(trainer.model, pw.weights, spec.config, trainer.process);
          // runs with held-out images: fresh samples against them (training/heldout-quality.ts)
          if (heldOutProbe) {
            const seeds = HELD_OUT_SEEDS.slice(0, heldOutProbe.n);
            heldOutSamples = nchwToNhwc(await sampleWithWeights(trainer.model, pw.weights, spec.config, trainer.process, seeds), seeds.length, 3, spec.config.imageSize);
          }
        } finally {
          pw.release();
        }
        const { png, samples } = grid;
        const name = `step-${String(trainer.step).padStart(8, '0')}.png`;
        await writeFileAtomic(join(spec.previewDir, name), png, { folder: libraryRootOf(spec.previewDir, spec.previewDirRel) });
        probe ??= MemorisationProbe.fromData(trainer.data) ?? null;
        const memorisation = probe ? probe.measure(samples) : undefined;
        const heldOut = heldOutProbe && heldOutSamples ? heldOutProbe.measure(heldOutSamples) : undefined;
        ctx.post({ type: 'preview', step: trainer.step, file: `${spec.previewDirRel}/${name}`, ...(memorisation ? { memorisation } : {}), ...(heldOut ? { heldOut } : {}) });
      }
      // Let the cancel message through between steps.
      await new Promise((r) => setImmediate(r));
    }
  } finally {
    flush();
    await trainer.dispose();
  }
}
