/**
 * The sampling job, run inside a job process: load a checkpoint's EMA weights, run the sampler
 * over batches of seeds, write each image as a PNG atomically and announce it. Cancelling keeps
 * the images already finished and leaves no partial file.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { JobContext } from '../jobs/worker';
import type { SampleJobSpec } from '../jobs/protocol';
import { batchNoise, ddim, epsDenoiserDiscrete } from '../diffusion/index';
import { hasEma, parseWeights, unetFromWeights } from '../model/weights';
import { writeFileAtomic } from '../store/files';
import { encodePng, toRgbBytes } from '../gallery/png';
import { initTrainingBackend } from '../training/backend';
import { scheduleOf } from '../training/trainer';
import { tfjsNetwork } from './tfjs-denoiser';

const MAX_BATCH = 16;
const PROGRESS_INTERVAL_MS = 200;

export async function runSampleJob(spec: SampleJobSpec, ctx: JobContext): Promise<void> {
  const backend = await initTrainingBackend('auto');
  ctx.post({ type: 'started', backend: backend.active, unavailable: backend.unavailable });
  const parsed = parseWeights(new Uint8Array(await fs.readFile(spec.checkpointFile)));
  const model = unetFromWeights(parsed, { source: hasEma(parsed) ? 'ema' : 'model', trainable: false });
  try {
    const schedule = scheduleOf(spec.config);
    const denoiser = epsDenoiserDiscrete(tfjsNetwork(model), schedule);
    const size = spec.config.imageSize;
    const C = 3;
    let lastPost = 0;
    for (let start = 0; start < spec.seeds.length; start += MAX_BATCH) {
      const seeds = spec.seeds.slice(start, start + MAX_BATCH);
      const shape = [seeds.length, C, size, size];
      const noise = batchNoise(seeds, C * size * size);
      const x0 = await ddim(denoiser, noise.initial(), shape, {
        schedule,
        steps: spec.steps,
        eta: spec.eta,
        spacing: 'leading',
        noise,
        signal: ctx.signal,
        onStep: ({ i, total }) => {
          const now = performance.now();
          if (now - lastPost < PROGRESS_INTERVAL_MS && i + 1 < total) return;
          lastPost = now;
          ctx.post({ type: 'sample-progress', done: start * spec.steps + (i + 1) * seeds.length, total: spec.seeds.length * spec.steps });
        },
      });
      for (let b = 0; b < seeds.length; b++) {
        const k = start + b;
        const png = await encodePng(toRgbBytes(x0, shape, b), size, size);
        const name = `${spec.names[k]}.png`;
        await writeFileAtomic(join(spec.outDir, name), png);
        ctx.post({ type: 'sample', index: k, name: spec.names[k], file: `${spec.outDirRel}/${name}`, seed: seeds[b], width: size, height: size });
      }
    }
  } finally {
    model.dispose();
  }
}
