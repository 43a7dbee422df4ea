import { describe, expect, it } from 'vitest';
import {
  denoiserFromNetwork,
  discreteCoordinates,
  edmDenoiser,
  edmPreconditioning,
  epsDenoiserDiscrete,
  predictionTarget,
  type ModelCoordinates,
  type NetworkFn,
  type Prediction,
} from '../../../src-main/diffusion/parameterisation';
import { makeDiscreteSchedule, sigmaToT } from '../../../src-main/diffusion/schedules/index';
import { normals } from '../../../src-main/diffusion/rng';

const D = 16;
const x0 = normals(1, 0, D);
const eps = normals(2, 0, D);

function maxAbs(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('prediction adapters round-trip to x0', () => {
  const coordsVp: ModelCoordinates = { inputScale: (s) => 1 / Math.sqrt(1 + s * s), timeOf: (l) => l.sigma };
  const coordsVe: ModelCoordinates = { inputScale: () => 1, timeOf: (l) => l.sigma };
  for (const prediction of ['eps', 'x0', 'v', 'score'] as Prediction[]) {
    for (const [name, coords] of [
      ['vp', coordsVp],
      ['ve', coordsVe],
    ] as const) {
      it(`${prediction} (${name})`, async () => {
        for (const sigma of [0.05, 1, 20]) {
          const s = coords.inputScale(sigma);
          const x = Float32Array.from(x0, (v, i) => v + sigma * eps[i]);
          const net: NetworkFn = async (xIn) => {
            // the network sees x_t = s x
            expect(maxAbs(xIn, Float32Array.from(x, (v) => v * s))).toBeLessThan(1e-5 * (1 + sigma));
            return predictionTarget(prediction, x0, eps, sigma, s);
          };
          const out = await denoiserFromNetwork(net, prediction, coords)(x, [1, D], { sigma });
          expect(maxAbs(out, x0)).toBeLessThan(2e-5 * (1 + sigma));
        }
      });
    }
  }

  it('EDM preconditioning (Karras et al. Table 1) round-trips and has the published coefficients', async () => {
    const c = edmPreconditioning(1, 0.5);
    expect(c.cSkip).toBeCloseTo(0.25 / 1.25, 14);
    expect(c.cOut).toBeCloseTo(0.5 / Math.sqrt(1.25), 14);
    expect(c.cIn).toBeCloseTo(1 / Math.sqrt(1.25), 14);
    expect(c.cNoise).toBe(0);
    for (const sigma of [0.002, 0.7, 80]) {
      const x = Float32Array.from(x0, (v, i) => v + sigma * eps[i]);
      const net = async (xIn: Float32Array, _s: readonly number[], cNoise: number) => {
        expect(cNoise).toBeCloseTo(Math.log(sigma) / 4, 12);
        return predictionTarget('edm', x0, eps, sigma, 1, 0.5);
      };
      expect(maxAbs(await edmDenoiser(net, 0.5)(x, [1, D], { sigma }), x0)).toBeLessThan(1e-5 * (1 + sigma));
    }
  });
});

describe('discrete adapters', () => {
  const sched = makeDiscreteSchedule({ kind: 'discrete', beta: 'linear', trainSteps: 1000 });
  it('use level.t when given, else interpolate log-sigma; optionally quantise', async () => {
    const seen: number[] = [];
    const net: NetworkFn = async (xIn, _s, t) => {
      seen.push(t);
      return new Float32Array(xIn.length);
    };
    const d = epsDenoiserDiscrete(net, sched);
    await d(x0, [1, D], { sigma: sched.sigmas[300], t: 300 });
    await d(x0, [1, D], { sigma: Math.sqrt(sched.sigmas[300] * sched.sigmas[301]) });
    expect(seen[0]).toBe(300);
    expect(seen[1]).toBeCloseTo(300.5, 2);
    expect(seen[1]).toBeCloseTo(sigmaToT(sched, Math.sqrt(sched.sigmas[300] * sched.sigmas[301])), 12);
    const q = denoiserFromNetwork(net, 'eps', discreteCoordinates(sched, { quantize: true }));
    await q(x0, [1, D], { sigma: sched.sigmas[300] * 1.0001 });
    expect(seen[2]).toBe(300);
  });
  it('rejects an unknown prediction and a wrong-sized model output', async () => {
    expect(() => denoiserFromNetwork(async (x) => x, 'noise' as never, discreteCoordinates(sched))).toThrow(/prediction/);
    const bad = epsDenoiserDiscrete(async () => new Float32Array(3), sched);
    await expect(bad(x0, [1, D], { sigma: 1 })).rejects.toThrow(/returned 3 values/);
  });
});
