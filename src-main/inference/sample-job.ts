/**
 * The sampling job, run inside a job process: load a checkpoint's EMA weights, run the chosen
 * sampler over batches of seeds, write each image as a PNG atomically and announce it. Cancelling
 * keeps the images already finished and leaves no partial file.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { JobContext } from '../jobs/worker';
import type { SampleJobSpec } from '../jobs/protocol';
import { batchNoise, planSampler, runSampler, startState, validateSamplerSettings } from '../diffusion/index';
import { hasEma, parseWeights, unetFromWeights } from '../model/weights';
import { writeFileAtomic } from '../store/files';
import { encodePng, toRgbBytes } from '../gallery/png';
import { initTrainingBackend } from '../training/backend';
import { familyDenoiser, processOf } from '../training/family';
import { tfjsNetwork } from './tfjs-denoiser';

const MAX_BATCH = 16;
const PROGRESS_INTERVAL_MS = 200;

export async function runSampleJob(spec: SampleJobSpec, ctx: JobContext): Promise<void> {
  const backend = await initTrainingBackend('auto');
  ctx.post({ type: 'started', backend: backend.active, unavailable: backend.unavailable });
  const parsed = parseWeights(new Uint8Array(await fs.readFile(spec.checkpointFile)));
  const model = unetFromWeights(parsed, { source: hasEma(parsed) ? 'ema' : 'model', trainable: false });
  try {
    const process = processOf(spec.config.schedule);
    const settings = validateSamplerSettings({ name: spec.sampler, ...(spec.steps !== undefined ? { steps: spec.steps } : {}), ...spec.options }, process);
    const plan = planSampler(settings, process);
    const denoiser = familyDenoiser(tfjsNetwork(model), spec.config.schedule, spec.config.objective, process);
    const size = spec.config.imageSize;
    const C = 3;
    const total = spec.seeds.length * (plan.sigmas ? plan.sigmas.length - 1 : settings.steps ?? 1);
    let lastPost = 0;
    for (let start = 0; start < spec.seeds.length; start += MAX_BATCH) {
      const seeds = spec.seeds.slice(start, start + MAX_BATCH);
      const shape = [seeds.length, C, size, size];
      const noise = batchNoise(seeds, C * size * size);
      const perImage = total / spec.seeds.length;
      const { x: x0, nfe } = await runSampler(denoiser, startState(plan, noise.initial()), shape, settings, process, {
        noise,
        signal: ctx.signal,
        onStep: ({ i }) => {
          const now = performance.now();
          if (now - lastPost < PROGRESS_INTERVAL_MS) return;
          lastPost = now;
          ctx.post({ type: 'sample-progress', done: Math.min(total, start * perImage + (i + 1) * seeds.length), total });
        },
      });
      for (let b = 0; b < seeds.length; b++) {
        const k = start + b;
        const png = await encodePng(toRgbBytes(x0, shape, b), size, size);
        const name = `${spec.names[k]}.png`;
        await writeFileAtomic(join(spec.outDir, name), png);
        ctx.post({ type: 'sample', index: k, name: spec.names[k], file: `${spec.outDirRel}/${name}`, seed: seeds[b], width: size, height: size, nfe });
      }
    }
  } finally {
    model.dispose();
  }
}
