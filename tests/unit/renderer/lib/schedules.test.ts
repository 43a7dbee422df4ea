/**
 * The schedule tuner's maths (src-renderer/src/lib/schedules.ts), checked against closed forms
 * (DDPM: alpha-bar_t = prod_{s<=t} (1 - beta_s), Ho et al. 2020 eq. 4; log-SNR = log(abar/(1-abar));
 * min-SNR-γ weight min(SNR, γ)/SNR, Hang et al. 2023 eq. 9) and the trainer's presets.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import {
  alphaBarAt,
  DEFAULT_POINTS,
  explainPoints,
  explainSpec,
  forgetLegacySchedules,
  legacySchedules,
  lossWeightOf,
  PRESETS,
  scheduleChoices,
  scheduleCurves,
} from '../../../../src-renderer/src/lib/schedules';
import { SCHEDULE_PRESETS } from '../../../../src-main/training/config';

const UNIFORM = { objective: 'eps', weighting: 'uniform', minSnrGamma: 5, p2K: 1, p2Gamma: 1 } as const;

beforeEach(() => localStorage.clear());

describe('schedule curves', () => {
  it("the tuner's presets are the trainer's", () => {
    for (const [name, spec] of Object.entries(PRESETS)) expect(spec).toEqual(SCHEDULE_PRESETS[name]);
  });

  it('linear: betas from 1e-4 to 0.02, alpha-bar their running product, log-SNR from alpha-bar', () => {
    const c = scheduleCurves(PRESETS.linear, UNIFORM, 1000);
    expect(c.T).toBe(1000);
    expect(c.t[0]).toBeCloseTo(1 / 1000, 12);
    expect(c.t[999]).toBe(1);
    let prod = 1;
    for (let i = 0; i < 1000; i++) {
      const beta = 1e-4 + ((0.02 - 1e-4) * i) / 999;
      prod *= 1 - beta;
      expect(c.beta[i]).toBeCloseTo(beta, 8);
      expect(c.alphaBar[i]).toBeCloseTo(prod, 9);
      expect(c.logSnr[i]).toBeCloseTo(Math.log(prod / (1 - prod)), 6);
      expect(c.weight[i]).toBe(1);
    }
  });

  it('subsamples to the points asked for, keeping both ends', () => {
    const full = scheduleCurves(PRESETS.cosine, UNIFORM, 1000);
    const c = scheduleCurves(PRESETS.cosine, UNIFORM, 50);
    expect(c.t).toHaveLength(50);
    expect(c.alphaBar[0]).toBe(full.alphaBar[0]);
    expect(c.alphaBar[49]).toBe(full.alphaBar[999]);
    for (let k = 1; k < 50; k++) expect(c.alphaBar[k]).toBeLessThan(c.alphaBar[k - 1]);
  });

  it('min-SNR-γ weights: 1 where SNR < γ, γ/SNR above', () => {
    const w = { ...UNIFORM, weighting: 'min-snr', minSnrGamma: 5 } as const;
    const abarHigh = 0.99; // SNR 99
    expect(lossWeightOf(w, abarHigh)).toBeCloseTo(5 / 99, 12);
    expect(lossWeightOf(w, 0.5)).toBe(1); // SNR 1
    // x0 objective carries the weight to x0 space: w_x0 = w_eps · SNR
    expect(lossWeightOf({ ...w, objective: 'x0' }, abarHigh)).toBeCloseTo(5, 10);
  });

  it('alpha-bar at a fraction of the way', () => {
    const c = scheduleCurves(PRESETS.linear, UNIFORM, 1000);
    expect(alphaBarAt(PRESETS.linear, 1)).toBe(c.alphaBar[999]);
    expect(alphaBarAt(PRESETS.linear, 0.5)).toBe(c.alphaBar[499]);
    expect(alphaBarAt(PRESETS.linear, 0)).toBe(c.alphaBar[0]);
  });
});

describe('checking what the user typed', () => {
  it('custom points: the default ones pass; a rising log-SNR gets a message', () => {
    expect(explainPoints(DEFAULT_POINTS)).toBeNull();
    expect(
      explainPoints([
        [0, 1],
        [0.5, 2],
        [1, -3],
      ]),
    ).toMatch(/\w/);
  });

  it('a schedule spec: presets pass; a bad beta range gets a message', () => {
    expect(explainSpec(PRESETS.sigmoid)).toBeNull();
    expect(explainSpec({ ...PRESETS.linear, betaEnd: 2 })).toMatch(/\w/);
  });
});

describe('named schedules', () => {
  it('are offered after the presets', () => {
    const choices = scheduleChoices([{ id: 'preset_1', name: 'soft', spec: PRESETS.cosine }]);
    expect(choices.slice(0, 8).map((c) => c.id)).toEqual(['linear', 'scaled-linear', 'cosine', 'sigmoid', 'vp', 'subvp', 've', 'edm'].map((n) => `preset:${n}`));
    expect(choices.at(-1)).toEqual({ id: 'named:soft', label: '★ soft', value: PRESETS.cosine });
  });

  it('those an older version left in localStorage are read as they were (for the one-time move into the library), then forgotten', () => {
    localStorage.setItem('sfumato-schedules', JSON.stringify([{ name: 'soft', spec: PRESETS.cosine }, { name: 'bad', spec: { kind: 'discrete', beta: 'nope' } }, null, { spec: {} }]));
    expect(legacySchedules()).toEqual([
      { name: 'soft', spec: PRESETS.cosine },
      { name: 'bad', spec: { kind: 'discrete', beta: 'nope' } },
    ]);
    forgetLegacySchedules();
    expect(localStorage.getItem('sfumato-schedules')).toBeNull();
    expect(legacySchedules()).toEqual([]);
  });

  it('unreadable storage means no legacy schedules', () => {
    localStorage.setItem('sfumato-schedules', '{not json');
    expect(legacySchedules()).toEqual([]);
  });
});
