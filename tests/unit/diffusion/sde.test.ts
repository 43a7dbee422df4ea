import { describe, expect, it } from 'vitest';
import { edmProcess, subVpProcess, veProcess, vpProcess, type ContinuousProcess } from '../../../src-main/diffusion/sde/index';
import { exponentialSigmas, karrasSigmas, uniformInTSigmas } from '../../../src-main/diffusion/schedules/sigmas';
import { makeProcess, validateScheduleSpec, sigmaRange, initNoiseStd } from '../../../src-main/diffusion/process';
import { DiffusionConfigError } from '../../../src-main/diffusion/types';

const processes: [string, ContinuousProcess][] = [
  ['vp', vpProcess(0.1, 20)],
  ['subvp', subVpProcess(0.1, 20)],
  ['ve', veProcess(0.01, 50)],
  ['edm', edmProcess(0.002, 80, 0.5)],
];

describe('SDEs (Song et al. 2021; Karras et al. 2022)', () => {
  for (const [name, p] of processes) {
    it(`${name}: sigma = std/mean, sigma <-> t inverse, and drift/diffusion generate the marginals`, () => {
      const ts = name === 'edm' ? [0.01, 0.5, 3, 40] : [0.01, 0.2, 0.5, 0.9];
      for (const t of ts) {
        expect(p.sigma(t)).toBeCloseTo(p.std(t) / p.mean(t), 10);
        expect(p.sigmaToT(p.sigma(t)) / t).toBeCloseTo(1, 9);
        expect(p.inputScale(p.sigma(t))).toBeCloseTo(p.mean(t), 10);
        // Song et al. eq. 33: dm/dt = f m, dVar/dt = 2 f Var + g^2 (Var of x_t given x0)
        const h = 1e-6 * Math.max(1, t);
        const dm = (p.mean(t + h) - p.mean(t - h)) / (2 * h);
        const dv = (p.std(t + h) ** 2 - p.std(t - h) ** 2) / (2 * h);
        expect(dm).toBeCloseTo(p.drift(t) * p.mean(t), 5);
        expect(dv / (2 * p.drift(t) * p.std(t) ** 2 + p.diffusion(t) ** 2)).toBeCloseTo(1, 5);
        if (p.alphaBar) expect(p.alphaBar(t)).toBeCloseTo(1 / (1 + p.sigma(t) ** 2), 12);
      }
    });
  }
  it('VP marginal matches the closed form and converts to alphaBar = s^2', () => {
    const p = vpProcess(0.1, 20);
    const B = 0.5 * 0.25 * 19.9 + 0.5 * 0.1;
    expect(p.mean(0.5)).toBeCloseTo(Math.exp(-0.5 * B), 14);
    expect(p.alphaBar!(0.5)).toBeCloseTo(p.mean(0.5) ** 2, 14);
    expect(p.std(1)).toBeCloseTo(Math.sqrt(1 - Math.exp(-(0.5 * 19.9 + 0.1))), 12);
    expect(subVpProcess().std(0.5)).toBeCloseTo(1 - Math.exp(-B), 12);
  });
  it('validates parameters', () => {
    expect(() => vpProcess(-1, 20)).toThrow(/betaMin/);
    expect(() => veProcess(1, 0.5)).toThrow(DiffusionConfigError);
    expect(() => edmProcess(0.002, 80, 0)).toThrow(/sigmaData/);
    expect(() => validateScheduleSpec({ kind: 've', sigmaMin: 0.01, sigmaMax: -3 })).toThrow(/schedule\.sigmaMax|sigmaMax/);
    expect(() => validateScheduleSpec({ kind: 'xx' })).toThrow(/schedule.kind/);
  });
  it('sigma ranges and starting-noise scales', () => {
    const vp = makeProcess({ kind: 'vp', betaMin: 0.1, betaMax: 20 });
    const r = sigmaRange(vp);
    expect(r.sigmaMin).toBeCloseTo(Math.sqrt(Math.expm1(1e-5 * 0.1 + 0.5e-10 * 19.9)), 8);
    expect(initNoiseStd(vp, r.sigmaMax)).toBeCloseTo(Math.sqrt(1 + r.sigmaMax ** 2), 9);
    expect(initNoiseStd(makeProcess({ kind: 'edm', sigmaMin: 0.002, sigmaMax: 80, sigmaData: 0.5 }), 80)).toBe(80);
    const d = makeProcess({ kind: 'discrete', beta: 'linear', trainSteps: 1000 });
    expect(sigmaRange(d).sigmaMin).toBeCloseTo(0.01, 5);
  });
});

describe('sigma sequences (k-diffusion)', () => {
  it('karras follows eq. 5 and ends at 0', () => {
    const s = karrasSigmas(5, 0.002, 80, 7);
    expect(s.length).toBe(6);
    expect(s[0]).toBeCloseTo(80, 12);
    expect(s[4]).toBeCloseTo(0.002, 14);
    expect(s[5]).toBe(0);
    const mid = (80 ** (1 / 7) + 0.5 * (0.002 ** (1 / 7) - 80 ** (1 / 7))) ** 7;
    expect(s[2]).toBeCloseTo(mid, 12);
    expect(karrasSigmas(1, 0.1, 10)).toEqual([10, 0]);
    expect(() => karrasSigmas(0, 0.1, 10)).toThrow(/steps/);
  });
  it('exponential is log-uniform; uniform-in-t maps a uniform t grid', () => {
    const e = exponentialSigmas(4, 0.01, 10);
    expect(e[1] / e[0]).toBeCloseTo(e[2] / e[1], 12);
    expect(e[3]).toBeCloseTo(0.01, 14);
    const ve = veProcess(0.01, 50);
    const u = uniformInTSigmas(3, 1, 0, (t) => ve.sigma(t));
    expect(u).toEqual([ve.sigma(1), ve.sigma(0.5), ve.sigma(0), 0]);
  });
});
