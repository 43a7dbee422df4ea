/**
 * timesteps() against diffusers' DDIMScheduler.set_timesteps formulas evaluated by real numpy
 * (fixture: tests/fixtures/diffusion/timesteps-numpy.json, made by gen_timesteps.py next to it).
 * Every n in 1..T is checked for T = 1000 and 999 (all three spacings) and T = 4000 (trailing).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { timesteps, type TimestepSpacing } from '../../../src-main/diffusion/schedules/spacing';

interface Case {
  T: number;
  spacing: TimestepSpacing;
  fingerprints: number[];
  numpyExtraMinusOne: number[];
  full: Record<string, number[]>;
}
const fixture = JSON.parse(readFileSync(join(__dirname, '../../fixtures/diffusion/timesteps-numpy.json'), 'utf8')) as {
  numpy: string;
  modulus: number;
  cases: Case[];
};

/** Same polynomial hash as gen_timesteps.py's fingerprint(); every intermediate stays below 2^53. */
function fingerprint(ts: number[]): number {
  const P = fixture.modulus;
  let h = ts.length % P;
  for (const t of ts) h = (h * 1000 + t + 1) % P;
  return h;
}

describe(`timesteps() equals numpy ${fixture.numpy} running diffusers' formulas for every step count`, () => {
  for (const c of fixture.cases) {
    it(`${c.spacing}, T = ${c.T}, n = 1..${c.T}`, () => {
      const wrong: string[] = [];
      for (let n = 1; n <= c.T; n++) {
        let got: number[];
        try {
          got = timesteps(c.T, n, c.spacing);
        } catch (e) {
          wrong.push(`n=${n}: threw ${(e as Error).message}`);
          continue;
        }
        if (got.length !== n || fingerprint(got) !== c.fingerprints[n - 1]) {
          const want = c.full[String(n)];
          wrong.push(`n=${n}: got [${got.slice(-4).join(', ')}] (last 4 of ${got.length})${want ? `, numpy [${want.slice(-4).join(', ')}]` : ''}`);
        }
      }
      expect(wrong.slice(0, 10), `${wrong.length} step counts differ`).toEqual([]);
    });
  }

  it('matches the full lists kept in the fixture (T = 1000; n = 19, 38, 48, 61, 99 broke before)', () => {
    for (const c of fixture.cases.filter((x) => x.T === 1000)) {
      for (const [key, want] of Object.entries(c.full)) {
        const n = Number(key);
        // numpy's arange sometimes yields n + 1 values ending in timestep -1; we keep the first n.
        expect(timesteps(1000, n, c.spacing), `${c.spacing} n=${n}`).toEqual(want.slice(0, n));
      }
    }
  });

  it('trailing: where numpy returns an extra timestep -1 (e.g. n = 61), the first n agree and all are in range', () => {
    const c = fixture.cases.find((x) => x.T === 1000 && x.spacing === 'trailing')!;
    expect(c.numpyExtraMinusOne).toContain(61);
    for (const n of c.numpyExtraMinusOne) {
      const ts = timesteps(1000, n, 'trailing');
      expect(ts).toHaveLength(n);
      expect(ts[0]).toBe(999);
      expect(Math.min(...ts)).toBeGreaterThanOrEqual(0);
      expect(new Set(ts).size).toBe(n);
    }
  });
});
