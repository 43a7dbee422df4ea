import { describe, expect, it } from 'vitest';
import { validateSamplerBenchSpec } from '../../../src-main/diffusion/bench/spec';
import { runSamplerBench, float32ToLeBytes, leBytesToFloat32, type SamplerBenchResult } from '../../../src-main/diffusion/bench/samplers';
import { errorVsNfeSvg } from '../../../src-main/diffusion/bench/svg';
import { slicedWasserstein } from '../../../src-main/diffusion/bench/metrics';
import { GaussianMixture } from '../../../src-main/diffusion/oracle';
import { normals } from '../../../src-main/diffusion/rng';
import { DiffusionConfigError } from '../../../src-main/diffusion/types';

const mixture = {
  weights: [0.2, 0.5, 0.3],
  means: [
    [-1.2, 0.4, 0.3],
    [0.9, -0.6, 0.1],
    [0.1, 1.1, -0.8],
  ],
  stds: [
    [0.25, 0.3, 0.2],
    [0.35, 0.2, 0.3],
    [0.2, 0.25, 0.4],
  ],
};

/** Independent float64 re-implementations (k-diffusion / DDIM update rules) on the exact oracle. */
function reference(r: SamplerBenchResult, start: Float32Array, m: GaussianMixture): Float64Array {
  let x: Float64Array = Float64Array.from(start);
  const D = (v: Float64Array, s: number): Float64Array => m.denoise64(v, s);
  if (r.name === 'ddim') {
    const a = r.alphasCumprod!;
    for (let i = 0; i + 1 < a.length; i++) {
      const s = Math.sqrt((1 - a[i]) / a[i]);
      const x0 = D(x.map((v) => v / Math.sqrt(a[i])), s);
      const eps = x.map((v, j) => (v - Math.sqrt(a[i]) * x0[j]) / Math.sqrt(1 - a[i]));
      x = x0.map((v, j) => Math.sqrt(a[i + 1]) * v + Math.sqrt(1 - a[i + 1]) * eps[j]);
    }
    return x;
  }
  const sg = r.sigmas!;
  let old: Float64Array | null = null;
  for (let i = 0; i + 1 < sg.length; i++) {
    const s = sg[i];
    const sn = sg[i + 1];
    const den = D(x, s);
    if (sn === 0) {
      x = den;
      continue;
    }
    if (r.name === 'euler') x = x.map((v, j) => v + (sn - s) * ((v - den[j]) / s));
    else if (r.name === 'heun') {
      const d = x.map((v, j) => (v - den[j]) / s);
      const x2 = x.map((v, j) => v + (sn - s) * d[j]);
      const den2 = D(x2, sn);
      x = x.map((v, j) => v + ((sn - s) * (d[j] + (x2[j] - den2[j]) / sn)) / 2);
    } else if (r.name === 'dpmpp-2m') {
      const h = Math.log(s / sn);
      let dd = den;
      if (old) {
        const rr = Math.log(sg[i - 1] / s) / h;
        dd = den.map((v, j) => (1 + 1 / (2 * rr)) * v - (1 / (2 * rr)) * old![j]);
      }
      x = x.map((v, j) => (sn / s) * v - Math.expm1(-h) * dd[j]);
      old = den;
    }
  }
  return x;
}

describe('sampler bench', () => {
  it('runs every entry in spec order with the documented fields, dumps and sequences', async () => {
    const n = 256;
    const spec = validateSamplerBenchSpec({
      mixture,
      schedule: { kind: 'discrete', beta: 'linear', trainSteps: 1000 },
      samplers: [
        { name: 'ddim', steps: 10, eta: 0 },
        { name: 'dpmpp-2m', steps: 10, sigmas: 'karras' },
        { name: 'pc', steps: 20, snr: 0.16 },
        { name: 'pf-ode', rtol: 1e-4, atol: 1e-4 },
        { name: 'ddpm', steps: 50, variance: 'beta' },
      ],
      n,
      seed: 3,
    });
    const initNoise = normals(99, 0, n * 3);
    const { out, dumps } = await runSamplerBench(spec, { initNoise });
    expect(out.results.map((r) => r.name)).toEqual(['ddim', 'dpmpp-2m', 'pc', 'pf-ode', 'ddpm']);
    const [ddim, dpm, pc, pf, ddpm] = out.results;
    expect(ddim.space).toBe('vp');
    expect(Array.from(dumps.get(ddim.start)!)).toEqual(Array.from(initNoise));
    expect(ddim.alphasCumprod!.length).toBe(11);
    expect(ddim.alphasCumprod!.at(-1)).toBe(1);
    expect(ddim.t).toEqual([900, 800, 700, 600, 500, 400, 300, 200, 100, 0, -1]);
    expect(ddim.nfe).toBe(10);
    expect(dpm.space).toBe('ve');
    expect(dpm.sigmas!.at(-1)).toBe(0);
    expect(dpm.sigmas!.length).toBe(11);
    expect(dumps.get(dpm.start)![5]).toBeCloseTo(initNoise[5] * Math.sqrt(1 + dpm.sigmas![0] ** 2), 3);
    expect(pc.nfe).toBe(40);
    expect(pf.nfe).toBeGreaterThan(10);
    expect(pf.steps).toBe(pf.sigmas!.length - 1);
    expect(pf.options).toEqual({ rtol: 1e-4, atol: 1e-4 });
    expect(ddpm.options).toEqual({ variance: 'beta' });
    for (const r of out.results) {
      expect(dumps.get(r.final)!.length).toBe(n * 3);
      expect(r.swd).toBeGreaterThan(0);
      expect(r.swd).toBeLessThan(0.5);
      expect(r.meanErr).toBeLessThan(0.2);
      expect(r.wallMs).toBeGreaterThanOrEqual(0);
      expect(r.t!.length).toBe(r.sigmas!.length);
    }
    const svg = errorVsNfeSvg(out.results);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<path /g)!.length).toBe(5);
    expect(svg).toContain('dpmpp-2m');
    expect(JSON.parse(JSON.stringify(out))).toEqual(out);
  });

  for (const schedule of [
    { kind: 'discrete', beta: 'scaled-linear', trainSteps: 1000 },
    { kind: 'vp', betaMin: 0.1, betaMax: 20 },
    { kind: 'edm', sigmaMin: 0.002, sigmaMax: 80, sigmaData: 0.5 },
  ]) {
    it(`an independent float64 re-run from the dumps agrees to 1e-4 (p99, ${schedule.kind})`, async () => {
      const n = 300;
      const isVp = schedule.kind !== 'edm';
      const spec = validateSamplerBenchSpec({
        mixture,
        schedule,
        samplers: [
          ...(schedule.kind === 'discrete' ? [{ name: 'ddim', steps: 25, spacing: 'trailing' }] : isVp ? [{ name: 'ddim', steps: 25 }] : []),
          { name: 'euler', steps: 30 },
          { name: 'heun', steps: 15, sigmas: 'exponential' },
          { name: 'dpmpp-2m', steps: 20, sigmas: 'karras', rho: 5 },
        ],
        n,
        seed: 7,
      });
      const { out, dumps } = await runSamplerBench(spec);
      const m = new GaussianMixture(mixture);
      for (const r of out.results) {
        const bytes = float32ToLeBytes(dumps.get(r.start)!);
        const start = leBytesToFloat32(bytes);
        const ref = reference(r, start, m);
        const ours = dumps.get(r.final)!;
        const mu = ref.reduce((a, b) => a + b, 0) / ref.length;
        const sd = Math.sqrt(ref.reduce((a, b) => a + (b - mu) ** 2, 0) / ref.length);
        const rel = Array.from(ours, (v, i) => Math.abs(v - ref[i]) / sd).sort((a, b) => a - b);
        expect(rel[Math.floor(0.99 * rel.length)]).toBeLessThan(1e-4);
        expect(r.name === 'ddim' || r.sigmas![0] > 1).toBe(true);
      }
    });
  }

  it('rejects bad specs with the field and the fix', () => {
    const ok = { mixture, schedule: { kind: 'discrete', beta: 'linear', trainSteps: 1000 }, samplers: [{ name: 'ddim', steps: 10 }], n: 64, seed: 0 };
    const field = (spec: unknown) => {
      try {
        validateSamplerBenchSpec(spec);
      } catch (e) {
        expect(e).toBeInstanceOf(DiffusionConfigError);
        return (e as DiffusionConfigError).field;
      }
      return 'no error';
    };
    expect(field(ok)).toBe('no error');
    expect(field({ ...ok, mixture: { ...mixture, stds: [[0.25, -0.3, 0.2], ...mixture.stds.slice(1)] } })).toBe('mixture.stds[0][1]');
    expect(field({ ...ok, mixture: { ...mixture, weights: [0.2, 0.5, 0.2] } })).toBe('mixture.weights');
    expect(field({ ...ok, samplers: [{ name: 'lms', steps: 10 }] })).toBe('samplers[0].name');
    expect(field({ ...ok, samplers: [{ name: 'ddim', steps: 10 }, { name: 'euler', steps: 0 }] })).toBe('samplers[1].steps');
    expect(field({ ...ok, schedule: { kind: 'discrete', beta: 'custom', trainSteps: 100, logSnrPoints: [[0, 5], [0.5, 6], [1, -5]] } })).toBe('schedule.logSnrPoints[1]');
    expect(field({ ...ok, schedule: { kind: 've', sigmaMin: 0.01, sigmaMax: 50 } })).toBe('samplers[0].name');
    expect(field({ ...ok, n: 1 })).toBe('n');
    expect(field({ ...ok, samplers: [] })).toBe('samplers');
    expect(field({ ...ok, extra: 1 })).toBe('extra');
    expect(() => validateSamplerBenchSpec({ ...ok, schedule: { kind: 've', sigmaMin: 0.01, sigmaMax: 50 } })).toThrow(/euler/);
  });

  it('checks initNoise size, and the SWD vanishes for identical sets and grows with a shift', async () => {
    const spec = validateSamplerBenchSpec({ mixture, schedule: { kind: 'edm' }, samplers: [{ name: 'euler', steps: 2 }], n: 8, seed: 0 });
    await expect(runSamplerBench(spec, { initNoise: new Float32Array(5) })).rejects.toThrow(/n x D/);
    const a = normals(1, 0, 600);
    expect(slicedWasserstein(a, a, 3, 0)).toBe(0);
    const shifted = a.map((v) => v + 0.5);
    const swd = slicedWasserstein(a, shifted, 3, 0);
    // a shift c projects to c . theta; for uniform unit directions E[(c . theta)^2] = |c|^2 / D = 0.25
    expect(swd).toBeGreaterThan(0.4);
    expect(swd).toBeLessThan(0.6);
  });
});
