/**
 * The training job, run inside a job process (jobs/worker.ts): prepare the backend, train for the
 * configured steps, write checkpoints atomically and announce them, report progress every step.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { JobContext } from '../jobs/worker';
import type { TrainJobSpec } from '../jobs/protocol';
import { readCache } from '../datasets/cache';
import { writeFileAtomic } from '../store/files';
import { APP_VERSION } from '../services/system';
import { AbortError } from '../diffusion/index';
import { initTrainingBackend } from './backend';
import { Trainer } from './trainer';

/** Progress messages are batched to at most this rate; every step's loss is still reported. */
const PROGRESS_INTERVAL_MS = 250;

export async function runTrainJob(spec: TrainJobSpec, ctx: JobContext): Promise<void> {
  const backend = await initTrainingBackend(spec.config.backend);
  ctx.post({ type: 'started', backend: backend.active, unavailable: backend.unavailable });
  const cache = await readCache(spec.datasetCache);
  const trainer = new Trainer(spec.config, spec.seed, cache);
  const total = spec.config.steps;
  let pending: { step: number; loss: number }[] = [];
  let lastPost = 0;
  let lastLoss: number | null = null;
  const t0 = performance.now();
  const stepsAtT0 = trainer.step;

  const checkpoint = async () => {
    const bytes = await trainer.checkpointBytes({ appVersion: APP_VERSION, runId: spec.runId, loss: lastLoss });
    const name = `step-${String(trainer.step).padStart(8, '0')}.sfwt`;
    await writeFileAtomic(join(spec.checkpointDir, name), bytes);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    ctx.post({ type: 'checkpoint', step: trainer.step, file: `${spec.checkpointDirRel}/${name}`, sha256, loss: lastLoss });
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
    });
    pending = [];
    lastPost = performance.now();
  };

  try {
    while (trainer.step < total) {
      if (ctx.signal.aborted) throw new AbortError();
      const loss = trainer.trainStep();
      lastLoss = loss;
      pending.push({ step: trainer.step, loss });
      if (performance.now() - lastPost >= PROGRESS_INTERVAL_MS || trainer.step === total) flush();
      if (trainer.step % spec.config.checkpointEvery === 0 || trainer.step === total) {
        flush();
        await checkpoint();
      }
      // Let the cancel message through between steps.
      await new Promise((r) => setImmediate(r));
    }
  } finally {
    flush();
    trainer.dispose();
  }
}
