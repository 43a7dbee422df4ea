/**
 * Preview grids during training: a few images sampled from the EMA weights with fixed seeds, so
 * successive grids show the model improving rather than the noise changing.
 */
import type { TrainConfig } from '../api/types';
import { batchNoise, isVpType, runSampler, startState, planSampler, validateSamplerSettings, type Process, type SamplerSettings } from '../diffusion/index';
import type { UNet } from '../model/unet';
import type { EMA } from '../model/ema';
import { tfjsNetwork } from '../model/tfjs-network';
import { encodePng } from '../gallery/png';
import { familyDenoiser } from '../diffusion/model-family';

export const PREVIEW_SEEDS = [0, 1, 2, 3];

/** A sampler that works on any schedule at few steps: DDIM on VP-type, DPM-Solver++ 2M otherwise. */
export function previewSampler(process: Process): SamplerSettings {
  return isVpType(process) ? { name: 'ddim', steps: 10 } : { name: 'dpmpp-2m', steps: 10, sigmas: 'karras' };
}

/** Sample the preview images from the EMA weights and lay them out as a 2x2 grid PNG (2 px gutters). */
export async function previewGrid(model: UNet, ema: EMA, config: TrainConfig, process: Process): Promise<Buffer> {
  const size = config.imageSize;
  const C = 3;
  const shape = [PREVIEW_SEEDS.length, C, size, size];
  const settings = validateSamplerSettings(previewSampler(process), process);
  const plan = planSampler(settings, process);
  const noise = batchNoise(PREVIEW_SEEDS, C * size * size);
  const denoiser = familyDenoiser(tfjsNetwork(model, ema.shadows()), config.schedule, config.objective, process);
  const { x } = await runSampler(denoiser, startState(plan, noise.initial()), shape, settings, process, { noise });
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
          const v = Math.round((x[((b * C + c) * size + y) * size + xx] + 1) * 127.5);
          rgb[((oy + y) * W + ox + xx) * 3 + c] = v < 0 ? 0 : v > 255 ? 255 : v;
        }
      }
    }
  }
  return encodePng(rgb, W, H);
}
