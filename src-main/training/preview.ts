/**
 * Preview grids during training: a few images sampled from the EMA weights with fixed seeds, so
 * successive grids show the model improving rather than the noise changing.
 */
import type { TrainConfig } from '../api/types';
import { guidedNetwork, isVpType, sampleSeeds, type Process, type SamplerSettings } from '../diffusion/index';
import type * as tf from '@tensorflow/tfjs';
import type { UNet } from '../network/unet';
import type { EMA } from '../network/ema';
import { tfjsNetwork } from '../network/tfjs-network';
import { encodePng } from '../gallery/png';
import { familyDenoiser } from '../diffusion/model-family';
import { modelToByte } from '../diffusion/pixels';
import { nchwToNhwc } from './memorisation';

export const PREVIEW_SEEDS = [0, 1, 2, 3];

/** A sampler that works on any schedule at few steps: DDIM on VP-type, DPM-Solver++ 2M otherwise. */
export function previewSampler(process: Process): SamplerSettings {
  return isVpType(process) ? { name: 'ddim', steps: 10 } : { name: 'dpmpp-2m', steps: 10, sigmas: 'karras' };
}

/**
 * Images sampled with the preview sampler from the given weights (the EMA shadows, or LoRA preview
 * weights) for `seeds`, NCHW in the model range. Class-conditional models cycle through the
 * classes (plain conditional, W = 1).
 */
export async function sampleWithWeights(model: UNet, weights: EMA | readonly tf.Tensor[], config: TrainConfig, process: Process, seeds: readonly number[]): Promise<Float32Array> {
  const size = config.imageSize;
  const shape = [seeds.length, 3, size, size];
  const K = model.config.numClasses ?? 0;
  const net = tfjsNetwork(model, Array.isArray(weights) ? weights : (weights as EMA).shadows());
  const network = K > 0 ? guidedNetwork(net, { labels: Int32Array.from(seeds, (_, i) => i % K), nullClass: K, scale: 1 }) : net;
  const denoiser = familyDenoiser(network, config.schedule, config.objective, process);
  const { x } = await sampleSeeds({ denoiser, process, sampler: previewSampler(process), seeds: [...seeds], shape });
  return x;
}

/**
 * Sample the preview images from the EMA weights (or the given weights: LoRA previews) and lay
 * them out as a 2x2 grid PNG (2 px gutters); `samples` are the images themselves, NHWC in the
 * model range (memorisation.ts).
 */
export async function previewGrid(model: UNet, ema: EMA | readonly tf.Tensor[], config: TrainConfig, process: Process): Promise<{ png: Buffer; samples: Float32Array }> {
  const size = config.imageSize;
  const C = 3;
  const x = await sampleWithWeights(model, ema, config, process, PREVIEW_SEEDS);
  const cols = 2;
  const gap = 2;
  const W = cols * size + (cols + 1) * gap;
  const H = Math.ceil(PREVIEW_SEEDS.length / cols) * (size + gap) + gap;
  const rgb = new Uint8Array(W * H * 3).fill(24);
  for (let b = 0; b < PREVIEW_SEEDS.length; b++) {
    const ox = gap + (b % cols) * (size + gap);
    const oy = gap + Math.floor(b / cols) * (size + gap);
    for (let c = 0; c < C; c++) {
      for (let y = 0; y < size; y++) {
        for (let xx = 0; xx < size; xx++) {
          rgb[((oy + y) * W + ox + xx) * 3 + c] = modelToByte(x[((b * C + c) * size + y) * size + xx]);
        }
      }
    }
  }
  return { png: await encodePng(rgb, W, H), samples: nchwToNhwc(x, PREVIEW_SEEDS.length, C, size) };
}
