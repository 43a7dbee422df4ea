/**
 * Starting states of a sampling job (`initialStates`, `img2imgStartIndex`, exported by the sampling
 * job): plain seeds, variation seeds and seed interpolation (slerp of the starting noise, Shoemake
 * 1985), and image-to-image (SDEdit, Meng et al. 2022: noise the source to the plan's first level,
 * DDPM eq. 4 in the VP scale, x0 + sigma eps in the sigma scale). Checked against closed forms
 * computed here from the raw noise, not through the functions under test.
 */
import { describe, expect, it } from 'vitest';
import { initialStates, img2imgStartIndex } from '../../../src-main/jobs/sample-job';
import { INITIAL_STREAM, normals, planSampler, truncatePlan, validateSamplerSettings, type SamplerPlan } from '../../../src-main/diffusion/index';
import { processOf } from '../../../src-main/diffusion/model-family';
import { SCHEDULE_PRESETS } from '../../../src-main/training/config';
import type { SampleOrigin } from '../../../src-main/api/types';

const PER = 3 * 16 * 16;
const noise = (seed: number) => normals(seed, INITIAL_STREAM, PER);

// Hand-made plans: only space, initStd and the first level matter for the starting state.
const vpPlan: SamplerPlan = { name: 'ddim', space: 'vp', alphasCumprod: [0.25, 0.9, 1], sigmas: null, t: [999, 500, -1], initStd: 1 };
const vePlan: SamplerPlan = { name: 'euler', space: 've', alphasCumprod: null, sigmas: [80, 1, 0], t: null, initStd: 80 };

const norm = (x: ArrayLike<number>) => Math.sqrt(Array.from(x).reduce((s, v) => s + v * v, 0));
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, v, i) => s + v * b[i], 0);
const cosine = (a: ArrayLike<number>, b: ArrayLike<number>) => dot(a, b) / (norm(a) * norm(b));
const scaled = (x: Float32Array, k: number) => Float32Array.from(x, (v) => v * k);

describe('initialStates: seeds', () => {
  it("a plain seed starts from that seed's stream-0 noise, times the plan's initial std", () => {
    expect(initialStates(vpPlan, [7], [{ kind: 'seed' }], PER)).toEqual(noise(7));
    const ve = initialStates(vePlan, [7], [{ kind: 'seed' }], PER);
    expect(ve).toEqual(scaled(noise(7), 80));
  });

  it('a batch lays images out one after another; a missing origin means a plain seed', () => {
    const x = initialStates(vpPlan, [3, 4, 5], [{ kind: 'seed' }], PER);
    expect(x).toHaveLength(3 * PER);
    expect(x.subarray(0, PER)).toEqual(noise(3));
    expect(x.subarray(PER, 2 * PER)).toEqual(noise(4));
    expect(x.subarray(2 * PER)).toEqual(noise(5));
  });
});

describe('initialStates: variation seeds', () => {
  const variation = (strength: number): SampleOrigin => ({ kind: 'variation', subseed: 99, strength });

  it('strength 0 is the seed itself, strength 1 is the subseed', () => {
    expect(initialStates(vpPlan, [7], [variation(0)], PER)).toEqual(noise(7));
    const one = initialStates(vpPlan, [7], [variation(1)], PER);
    for (let i = 0; i < PER; i++) expect(one[i]).toBeCloseTo(noise(99)[i], 5);
  });

  it("in between it is Shoemake's slerp and stays on the Gaussian shell (norm ≈ √D, unlike a lerp)", () => {
    const a = noise(7);
    const b = noise(99);
    const theta = Math.acos(cosine(a, b));
    for (const s of [0.1, 0.5, 0.9]) {
      const x = initialStates(vpPlan, [7], [variation(s)], PER);
      // |x| between |a| and |b| (slerp of two vectors keeps their length when the lengths agree)
      expect(norm(x)).toBeGreaterThan(Math.min(norm(a), norm(b)) * 0.99);
      expect(norm(x)).toBeLessThan(Math.max(norm(a), norm(b)) * 1.01);
      // Shoemake's closed form, x = [sin((1 − s)θ) a + sin(sθ) b] / sin θ, in float64 here
      for (let i = 0; i < PER; i += 13) {
        expect(x[i]).toBeCloseTo((Math.sin((1 - s) * theta) * a[i] + Math.sin(s * theta) * b[i]) / Math.sin(theta), 4);
      }
    }
    // a plain lerp halfway between two near-orthogonal Gaussians would lose ~30% of the norm
    const lerp = Float32Array.from(a, (v, i) => 0.5 * v + 0.5 * b[i]);
    expect(norm(lerp) / Math.sqrt(PER)).toBeLessThan(0.8);
    expect(norm(initialStates(vpPlan, [7], [variation(0.5)], PER)) / Math.sqrt(PER)).toBeGreaterThan(0.95);
  });

  it("is scaled by the plan's initial std like any start", () => {
    const vp = initialStates(vpPlan, [7], [variation(0.3)], PER);
    const ve = initialStates(vePlan, [7], [variation(0.3)], PER);
    for (let i = 0; i < PER; i += 37) expect(ve[i]).toBeCloseTo(vp[i] * 80, 3);
  });
});

describe('initialStates: interpolation between two seeds', () => {
  it('t = 0 is seed A and t = 1 is exactly the plain start of seed B', () => {
    const interp = (t: number): SampleOrigin => ({ kind: 'interpolation', seedB: 12, t });
    expect(initialStates(vePlan, [5], [interp(0)], PER)).toEqual(initialStates(vePlan, [5], [{ kind: 'seed' }], PER));
    expect(initialStates(vePlan, [5], [interp(1)], PER)).toEqual(initialStates(vePlan, [12], [{ kind: 'seed' }], PER));
  });

  it('frames of a walk are evenly spaced in angle', () => {
    const a = noise(5);
    const frames = [0, 0.25, 0.5, 0.75, 1].map((t) => initialStates(vpPlan, [5], [{ kind: 'interpolation', seedB: 12, t }], PER));
    const steps = frames.slice(1).map((f, i) => Math.acos(Math.min(1, cosine(f, frames[i]))));
    for (const s of steps) expect(Math.abs(s - steps[0])).toBeLessThan(0.01);
    expect(Math.abs(Math.acos(cosine(frames[2], a)) - 2 * steps[0])).toBeLessThan(0.01);
  });
});

describe('initialStates: image-to-image', () => {
  const source = Float32Array.from({ length: PER }, (_, i) => Math.sin(i) * 0.9);
  const origin: SampleOrigin = { kind: 'img2img', strength: 0.5, source: { sha256: 'ab'.repeat(32) } };

  it('VP: sqrt(ᾱ) x0 + sqrt(1 − ᾱ) ε at the first level of the plan (DDPM eq. 4)', () => {
    const x = initialStates(vpPlan, [7], [origin], PER, source);
    const eps = noise(7);
    for (let i = 0; i < PER; i++) expect(x[i]).toBeCloseTo(0.5 * source[i] + Math.sqrt(0.75) * eps[i], 5);
  });

  it('sigma scale: x0 + σ ε at the first level of the plan', () => {
    const plan: SamplerPlan = { ...vePlan, sigmas: [2.5, 1, 0] };
    const x = initialStates(plan, [7], [origin], PER, source);
    const eps = noise(7);
    for (let i = 0; i < PER; i++) expect(x[i]).toBeCloseTo(source[i] + 2.5 * eps[i], 4);
  });

  it('needs the source image at the model size', () => {
    expect(() => initialStates(vpPlan, [7], [origin], PER)).toThrow(/source image/);
    expect(() => initialStates(vpPlan, [7], [origin], PER, new Float32Array(PER - 3))).toThrow(/model size/);
  });

  it('mixes with plain seeds in one batch, each image at its own offset', () => {
    const x = initialStates(vpPlan, [1, 7], [{ kind: 'seed' }, origin], PER, source);
    expect(x.subarray(0, PER)).toEqual(noise(1));
    expect(x[PER + 10]).toBeCloseTo(0.5 * source[10] + Math.sqrt(0.75) * noise(7)[10], 5);
  });
});

describe('img2imgStartIndex: the last round(strength × steps) steps run, at least one', () => {
  it('matches the closed form', () => {
    expect(img2imgStartIndex(20, 1)).toBe(0); // the whole plan: plain text-free sampling from noise
    expect(img2imgStartIndex(20, 0.5)).toBe(10);
    expect(img2imgStartIndex(10, 0.33)).toBe(7); // round(3.3) = 3 steps run
    expect(img2imgStartIndex(10, 0.25)).toBe(7); // round(2.5) = 3
    expect(img2imgStartIndex(10, 0)).toBe(9); // never zero steps
    expect(img2imgStartIndex(10, 0.01)).toBe(9);
    expect(img2imgStartIndex(1, 0.2)).toBe(0);
    for (let steps = 1; steps <= 50; steps++) {
      for (const s of [0.1, 0.3, 0.5, 0.7, 0.9, 1]) {
        const start = img2imgStartIndex(steps, s);
        expect(Number.isInteger(start)).toBe(true);
        expect(steps - start).toBe(Math.max(1, Math.min(steps, Math.round(s * steps))));
      }
    }
  });

  it('more strength starts earlier (noisier): the index never increases with strength', () => {
    let prev = Infinity;
    for (let s = 0; s <= 1.0001; s += 0.05) {
      const start = img2imgStartIndex(30, s);
      expect(start).toBeLessThanOrEqual(prev);
      prev = start;
    }
  });

  it('is a valid start for the real plan: the truncated plan runs exactly that many steps', () => {
    const process = processOf(SCHEDULE_PRESETS.linear);
    const plan = planSampler(validateSamplerSettings({ name: 'ddim', steps: 20 }, process), process);
    const steps = (plan.alphasCumprod as number[]).length - 1;
    expect(steps).toBe(20);
    for (const s of [0.05, 0.3, 0.5, 0.95]) {
      const start = img2imgStartIndex(steps, s);
      const cut = start ? truncatePlan(plan, start) : plan;
      expect((cut.alphasCumprod as number[]).length - 1).toBe(Math.max(1, Math.round(s * 20)));
      // a weaker edit starts from a cleaner level (larger ᾱ)
      expect((cut.alphasCumprod as number[])[0]).toBeGreaterThanOrEqual((plan.alphasCumprod as number[])[0]);
    }
  });
});
