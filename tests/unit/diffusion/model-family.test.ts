/**
 * The model family ties training targets to sampling adapters: a network that outputs exactly the
 * training target must make the Denoiser return exactly x0, for every objective and process.
 */
import { describe, expect, it } from 'vitest';
import type { Objective, ScheduleJson, TrainConfig } from '../../../src-main/api/types';
import { isDiscrete, normals } from '../../../src-main/diffusion/index';
import { DEFAULT_TRAIN_CONFIG, SCHEDULE_PRESETS } from '../../../src-main/training/config';
import { clippedDenoiser, drawNoiseLevel, lossWeight, processOf, rawFamilyDenoiser, targetOf, type NoiseDraw } from '../../../src-main/diffusion/model-family';
import { learningRate } from '../../../src-main/training/optimizer';

const cases: [string, ScheduleJson, Objective[]][] = [
  ['linear', SCHEDULE_PRESETS.linear, ['eps', 'x0', 'v']],
  ['cosine', SCHEDULE_PRESETS.cosine, ['eps', 'v']],
  ['vp', SCHEDULE_PRESETS.vp, ['eps', 'x0', 'v', 'score']],
  ['subvp', SCHEDULE_PRESETS.subvp, ['eps', 'score']],
  ['ve', SCHEDULE_PRESETS.ve, ['eps', 'x0', 'score']],
  ['edm', SCHEDULE_PRESETS.edm, ['edm']],
];

describe('model family: training targets <-> denoiser adapters', () => {
  for (const [label, schedule, objectives] of cases) {
    for (const objective of objectives) {
      it(`${label}/${objective}: a perfect network recovers x0`, async () => {
        const process = processOf(schedule);
        const D = 6;
        const x0 = normals(1, 7, D);
        const eps = normals(2, 7, D);
        for (const u of [0.05, 0.5, 0.93]) {
          const d = drawNoiseLevel(process, schedule, u, u * 2 - 1);
          const xIn = Float32Array.from(x0, (v, i) => d.cIn * (d.alpha * v + d.sigmaT * eps[i]));
          const target = Float32Array.from(x0, (v, i) => targetOf(objective, d, v, eps[i]));
          // The network sees exactly what the trainer fed it and answers the exact target.
          const network = async (xSeen: Float32Array, _shape: readonly number[], t: number) => {
            for (let i = 0; i < D; i++) expect(xSeen[i]).toBeCloseTo(xIn[i], 3);
            expect(t).toBeCloseTo(d.netTime, isDiscrete(process) ? 6 : 2);
            return target;
          };
          const den = rawFamilyDenoiser(network, schedule, objective, process);
          // The sampler's state is in the sigma scale: x = (alpha x0 + sigmaT eps) / alpha.
          const sigma = d.sigmaT / d.alpha;
          const x = Float32Array.from(x0, (v, i) => v + sigma * eps[i]);
          const level = isDiscrete(process) ? { sigma, t: d.netTime } : { sigma };
          const out = await den(x, [1, D], level);
          for (let i = 0; i < D; i++) expect(out[i]).toBeCloseTo(x0[i], 3);
        }
      });
    }
  }
});

describe('data-range clip', () => {
  it('clamps the x0 estimate to [-1, 1] and leaves values inside alone', async () => {
    const den = clippedDenoiser(async () => Float32Array.from([-3, -1, 0.25, 1, 7]));
    expect(Array.from(await den(new Float32Array(5), [1, 5], { sigma: 1 }))).toEqual([-1, -1, 0.25, 1, 1]);
  });
});

describe('loss weights', () => {
  const draw = (snr: number): NoiseDraw => {
    const sigmaT = Math.sqrt(1 / (1 + snr));
    return { alpha: Math.sqrt(snr / (1 + snr)), sigmaT, cIn: 1, netTime: 0, cSkip: 0, cOut: 1 };
  };
  const cfg = (o: Partial<TrainConfig>): TrainConfig => ({ ...DEFAULT_TRAIN_CONFIG, ...o });

  it('min-SNR-gamma follows Hang et al. 2023 for eps, x0 and v', () => {
    for (const snr of [0.01, 1, 5, 20, 400]) {
      const g = 5;
      const m = Math.min(snr, g);
      expect(lossWeight(cfg({ weighting: 'min-snr', objective: 'eps' }), draw(snr))).toBeCloseTo(m / snr, 10);
      expect(lossWeight(cfg({ weighting: 'min-snr', objective: 'x0' }), draw(snr))).toBeCloseTo(m, 8);
      expect(lossWeight(cfg({ weighting: 'min-snr', objective: 'v' }), draw(snr))).toBeCloseTo(m / (snr + 1), 10);
    }
  });

  it('min-SNR at zero terminal SNR takes its limit instead of 0/0', () => {
    const d: NoiseDraw = { alpha: 0, sigmaT: 1, cIn: 1, netTime: 999, cSkip: 0, cOut: 1 };
    expect(lossWeight(cfg({ weighting: 'min-snr', objective: 'eps' }), d)).toBe(1);
    expect(lossWeight(cfg({ weighting: 'min-snr', objective: 'v' }), d)).toBe(0);
  });

  it('P2 is (k + SNR)^-gamma on the eps loss; uniform score is the DSM weight sigma_t^2', () => {
    expect(lossWeight(cfg({ weighting: 'p2', p2K: 1, p2Gamma: 0.5 }), draw(3))).toBeCloseTo(0.5, 12);
    const d = draw(4);
    expect(lossWeight(cfg({ objective: 'score', schedule: SCHEDULE_PRESETS.vp }), d)).toBeCloseTo(d.sigmaT ** 2, 12);
  });
});

describe('learning rate', () => {
  const c = { lr: 1e-3, warmupSteps: 10, lrSchedule: 'cosine' as const, minLr: 1e-4, steps: 110 };
  it('warms up linearly, then decays by a half cosine to minLr', () => {
    expect(learningRate(1, c)).toBeCloseTo(1e-4, 12);
    expect(learningRate(10, c)).toBeCloseTo(1e-3, 12);
    expect(learningRate(60, c)).toBeCloseTo((1e-3 + 1e-4) / 2, 12);
    expect(learningRate(110, c)).toBeCloseTo(1e-4, 12);
    expect(learningRate(50, { ...c, lrSchedule: 'constant' })).toBe(1e-3);
  });
});
