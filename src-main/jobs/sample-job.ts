/**
 * The sampling job, run inside a job process: load a checkpoint's EMA weights, run the chosen
 * sampler over batches of seeds, write each image as a PNG atomically and announce it. Cancelling
 * keeps the images already finished and leaves no partial file.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { JobContext, SampleJobSpec } from './protocol';
import {
  batchNoise,
  guidedNetwork,
  INITIAL_STREAM,
  noisedStart,
  normals,
  slerp,
  startState,
  truncatePlan,
  type NetworkFn,
  type SamplerPlan,
} from '../diffusion/index';
import { configOfWeights, hasEma, parseWeights, unetFromWeights } from '../network/weights';
import { applyAdapterToWeights, decodeAdapterFile } from '../network/lora-file';
import { LoraConfigError } from '../network/lora';
import { libraryRootOf, writeFileAtomic } from '../db/files';
import { encodePng, encodeSamplePng, toRgbBytes } from '../gallery/png';
import type { SampleOrigin, SampleRecord } from '../api/types';
import { initTrainingBackend } from '../training/backend';
import { familyDenoiser, processOf } from '../diffusion/model-family';
import { prepareSampler, sampleBatch } from '../diffusion/pipeline';
import { tfjsNetwork } from '../network/tfjs-network';

/** Images per network batch on the CPU (tfjs or the CPU provider). */
const MAX_BATCH = 16;
/** Images per network batch on a GPU provider: larger batches keep a GPU busy between the host's
 *  sampler updates. Not measured on a GPU yet: tests/gpu/check.ts reports DDIM images/s at 16, 64
 *  and 128 so this can be set from figures (docs/design-notes.md §ONNX Runtime providers). */
export const GPU_MAX_BATCH = 64;
const PROGRESS_INTERVAL_MS = 200;
const PREVIEW_INTERVAL_MS = 400;

/**
 * Time between two rounds of live previews for a batch of `n` images: 400 ms up to four images,
 * then 100 ms more per image, so the preview traffic stays near ten small PNGs a second.
 */
export function previewInterval(n: number): number {
  return Math.max(PREVIEW_INTERVAL_MS, 100 * n);
}

/** Starting states of one batch, by each image's origin (see SampleOrigin). */
export function initialStates(
  plan: SamplerPlan,
  seeds: readonly number[],
  origins: readonly SampleOrigin[],
  per: number,
  sourceImage?: Float32Array,
): Float32Array {
  const out = new Float32Array(seeds.length * per);
  for (let b = 0; b < seeds.length; b++) {
    const base = normals(seeds[b], INITIAL_STREAM, per);
    const o = origins[b] ?? { kind: 'seed' };
    let x: Float32Array;
    if (o.kind === 'img2img') {
      if (!sourceImage || sourceImage.length !== per) throw new Error('image-to-image needs the source image at the model size');
      x = noisedStart(plan, sourceImage, base);
    } else {
      const n = o.kind === 'variation' ? slerp(base, normals(o.subseed, INITIAL_STREAM, per), o.strength) : o.kind === 'interpolation' ? slerp(base, normals(o.seedB, INITIAL_STREAM, per), o.t) : base;
      x = startState(plan, n);
    }
    out.set(x, b * per);
  }
  return out;
}

/** Where an image-to-image run enters the plan: the last round(strength x steps) steps (at least 1). */
export function img2imgStartIndex(planSteps: number, strength: number): number {
  const run = Math.max(1, Math.min(planSteps, Math.round(strength * planSteps)));
  return planSteps - run;
}

/**
 * The network for sampling (and likelihood jobs): our checkpoint exported to ONNX and run by ONNX Runtime (the fast
 * path), or an imported ONNX model; tfjs on the training backend as the fallback for checkpoints.
 */
export interface NetworkSource {
  config: SampleJobSpec['config'];
  checkpointFile: string;
  engine: SampleJobSpec['engine'];
  provider?: SampleJobSpec['provider'];
  /** ONNX Runtime threads (a worker's --threads) */
  threads?: number;
  /** bake this LoRA adapter into the weights first (sampling only) */
  lora?: SampleJobSpec['lora'];
  appVersion: string;
}

export async function openNetwork(spec: NetworkSource, ctx: JobContext): Promise<{ network: NetworkFn; backend: string; maxBatch: number; dispose: () => Promise<void> }> {
  const bytes = new Uint8Array(await fs.readFile(spec.checkpointFile));
  const isOnnx = spec.checkpointFile.endsWith('.onnx');
  if (isOnnx && spec.lora) throw new LoraConfigError('lora', 'an imported ONNX model has no weights to add an adapter to; apply it to a checkpoint or bundled model');
  const adapter = spec.lora && decodeAdapterFile(new Uint8Array(await fs.readFile(spec.lora.file)), spec.lora.file);
  // the weights to sample: the checkpoint's, or with a LoRA adapter baked in at its strength
  const parse = () => (adapter ? applyAdapterToWeights(parseWeights(bytes), adapter, spec.lora!.scale, spec.lora!.file) : parseWeights(bytes));
  if (isOnnx || spec.engine !== 'tfjs') {
    try {
      const { chooseProvider, createOrtSession, denoiserProbeWorkload, exportUNetToOnnx, ortNetwork } = await import('../onnx/index');
      const model = isOnnx
        ? bytes
        : (() => {
            const parsed = parse();
            return exportUNetToOnnx({ config: configOfWeights(parsed), tensors: parsed.tensors }, { prediction: spec.config.objective as never, schedule: spec.config.schedule, appVersion: spec.appVersion, classes: spec.config.classes });
          })();
      const log = (message: string) => ctx.post({ type: 'log', message });
      // the provider is chosen by probing with this very model (onnx/providers.ts): one denoiser run
      // on each candidate, compared with the CPU provider; WebGPU runs are serialised in session.ts
      const choice = await chooseProvider({ requested: spec.provider ?? 'auto', workload: denoiserProbeWorkload(model, spec.config.imageSize), log });
      const session = await createOrtSession(model, { provider: choice.provider, strict: true, ...(spec.threads ? { intraOpThreads: spec.threads } : {}), log });
      const onGpu = session.provider !== 'cpu';
      return { network: ortNetwork(session, { reuseOutput: true }), backend: `onnxruntime-${session.provider}`, maxBatch: onGpu ? GPU_MAX_BATCH : MAX_BATCH, dispose: () => session.dispose() };
    } catch (e) {
      if (isOnnx || spec.engine === 'onnx' || (spec.provider && spec.provider !== 'auto')) throw e;
      ctx.post({ type: 'log', message: `ONNX Runtime unavailable (${(e as Error).message}); sampling with tfjs instead` });
    }
  }
  const backend = await initTrainingBackend('auto');
  const parsed = parse();
  const model = unetFromWeights(parsed, { source: hasEma(parsed) ? 'ema' : 'model', trainable: false });
  return {
    network: tfjsNetwork(model),
    backend: backend.active,
    maxBatch: MAX_BATCH,
    dispose: async () => model.dispose(),
  };
}

export async function runSampleJob(spec: SampleJobSpec, ctx: JobContext): Promise<void> {
  const net = await openNetwork({ ...spec, appVersion: spec.record.appVersion }, ctx);
  const backend = { active: net.backend };
  ctx.post({ type: 'started', backend: net.backend, unavailable: {} });
  try {
    const process = processOf(spec.config.schedule);
    const { settings, plan: fullPlan } = prepareSampler({ name: spec.sampler, ...(spec.steps !== undefined ? { steps: spec.steps } : {}), ...spec.options }, process);
    const origins = spec.origins ?? spec.seeds.map((): SampleOrigin => ({ kind: 'seed' }));
    const img2img = origins.find((o) => o.kind === 'img2img');
    const startIndex = img2img && img2img.kind === 'img2img' ? img2imgStartIndex((fullPlan.sigmas ?? fullPlan.alphasCumprod ?? [0, 0]).length - 1, img2img.strength) : 0;
    const plan = startIndex ? truncatePlan(fullPlan, startIndex) : fullPlan;
    // class-conditional models: classifier-free guidance towards the recorded class (guidance.ts)
    const g = spec.record.guidance;
    const network = g ? guidedNetwork(net.network, { labels: g.classIndex, nullClass: (spec.config.classes ?? []).length, scale: g.scale }) : net.network;
    const denoiser = familyDenoiser(network, spec.config.schedule, spec.config.objective, process);
    const size = spec.config.imageSize;
    const C = 3;
    const per = C * size * size;
    const stepsPerImage = plan.sigmas ? plan.sigmas.length - 1 : settings.steps ?? 1;
    const total = spec.seeds.length * stepsPerImage;
    // The first step always reports (performance.now() starts near 0 in a fresh job process).
    let lastPost = -Infinity;
    let lastPreview = -Infinity;
    const maxBatch = net.maxBatch;
    for (let start = 0; start < spec.seeds.length; start += maxBatch) {
      const seeds = spec.seeds.slice(start, start + maxBatch);
      const shape = [seeds.length, C, size, size];
      const noise = batchNoise(seeds, per);
      const x = initialStates(plan, seeds, origins.slice(start, start + maxBatch), per, spec.sourceImage);
      const { x: x0, nfe } = await sampleBatch({
        denoiser,
        process,
        settings,
        plan,
        shape,
        noise,
        start: x,
        signal: ctx.signal,
        onStep: async ({ i, x0Pred, x: state }) => {
            if (spec.captureFrames && start === 0) {
              // x_t is in the sampler's working space (VP or sigma scale): shown as it is, clipped.
              ctx.post({ type: 'frame', step: i + 1, rgb: toRgbBytes(spec.captureFrames === 'x0' ? x0Pred : Float32Array.from(state), shape, 0) });
            }
            const now = performance.now();
            if (now - lastPost < PROGRESS_INTERVAL_MS) return;
            lastPost = now;
            ctx.post({ type: 'sample-progress', done: Math.min(total, start * stepsPerImage + (i + 1) * seeds.length), total });
            if (now - lastPreview >= previewInterval(seeds.length)) {
              // Live denoising: every image of the batch as the model currently sees it (one small
              // PNG each, at the model's own size; bigger batches refresh less often).
              lastPreview = now;
              for (let b = 0; b < seeds.length; b++) {
                const png = await encodePng(toRgbBytes(x0Pred, shape, b), size, size);
                ctx.post({ type: 'sample-preview', image: start + b, step: i + 1, total: stepsPerImage, dataUrl: `data:image/png;base64,${png.toString('base64')}` });
              }
            }
          },
      });
      for (let b = 0; b < seeds.length; b++) {
        const k = start + b;
        const name = `${spec.names[k]}.png`;
        const record: SampleRecord = {
          ...spec.record,
          id: spec.names[k],
          file: `${spec.outDirRel}/${name}`,
          seed: seeds[b],
          steps: settings.steps ?? nfe,
          nfe,
          origin: origins[k],
          backend: backend.active,
          createdAt: new Date().toISOString(),
          ...(spec.grids?.[k] ? { grid: spec.grids[k] } : {}),
        };
        const png = await encodeSamplePng(toRgbBytes(x0, shape, b), size, size, record);
        await writeFileAtomic(join(spec.outDir, name), png, { folder: libraryRootOf(spec.outDir, spec.outDirRel) });
        ctx.post({ type: 'sample', index: k, record });
      }
    }
  } finally {
    await net.dispose();
  }
}
