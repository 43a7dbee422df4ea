/** X/Y grid requests: axis validation (limits, types, messages naming the axis and value), value parsing, cells. */
import { describe, expect, it } from 'vitest';
import { validateRequest } from '../../../src-main/api/channels';
import { gridCells, parseAxisValues, MAX_AXIS_VALUES } from '../../../src-main/api/grid';

const req = (x: unknown, y: unknown) => ({ runId: 'run_a', x, y });
const fails = (r: unknown): string => {
  try {
    validateRequest('sample:grid', r);
  } catch (e) {
    return (e as Error).message;
  }
  return 'accepted';
};

describe('sample:grid validation', () => {
  it('accepts two different axes', () => {
    const r = validateRequest('sample:grid', req({ kind: 'seed', values: [1, 2] }, { kind: 'sampler', values: ['ddim', 'euler'] }));
    expect(r.x.values).toEqual([1, 2]);
  });

  it('refuses more than 16 values on an axis and more than 256 cells', () => {
    const many = Array.from({ length: MAX_AXIS_VALUES + 1 }, (_, i) => i);
    expect(fails(req({ kind: 'seed', values: many }, { kind: 'steps', values: [4] }))).toMatch(/x\.values: at most 16 values per axis, got 17/);
    // 16 x 16 = 256 is the limit: allowed
    const sixteen = many.slice(0, 16);
    expect(fails(req({ kind: 'seed', values: sixteen }, { kind: 'steps', values: sixteen.map((v) => v + 1) }))).toBe('accepted');
  });

  it('names the axis and the value that is wrong', () => {
    expect(fails(req({ kind: 'seed', values: [1, 'a'] }, { kind: 'steps', values: [4] }))).toMatch(/x\.values: seed axis value "a": a seed is a whole number/);
    expect(fails(req({ kind: 'seed', values: [1] }, { kind: 'sampler', values: ['ddim', 'nope'] }))).toMatch(/y\.values: sampler axis value "nope": not a sampler/);
    expect(fails(req({ kind: 'spacing', values: ['sideways'] }, { kind: 'seed', values: [1] }))).toMatch(/x\.values: spacing axis value "sideways": use one of leading/);
    expect(fails(req({ kind: 'steps', values: [0] }, { kind: 'seed', values: [1] }))).toMatch(/x\.values: steps axis value 0: steps must be/);
    expect(fails(req({ kind: 'seed', values: [1, 1] }, { kind: 'steps', values: [4] }))).toMatch(/appears twice/);
    expect(fails(req({ kind: 'seed', values: [1] }, { kind: 'seed', values: [2] }))).toMatch(/y\.kind: the X and Y axes both vary seed/);
    expect(fails(req({ kind: 'lora-scale' as never, values: [1] }, { kind: 'seed', values: [2] }))).toMatch(/x\.kind/);
    expect(fails(req({ kind: 'guidance', values: [1, -2] }, { kind: 'seed', values: [2] }))).toMatch(/guidance axis value -2: a guidance scale is a number ≥ 0/);
    expect(fails(req({ kind: 'class', values: [3] }, { kind: 'seed', values: [2] }))).toMatch(/class axis value 3: give a class name/);
  });

  it('guidance values parse as decimals and class values as names', () => {
    expect(parseAxisValues('guidance', '0, 1, 2.5,5')).toEqual([0, 1, 2.5, 5]);
    expect(() => parseAxisValues('guidance', '1-3')).toThrow(/guidance: "1-3" is not a number/);
    expect(parseAxisValues('class', 'cat, dog')).toEqual(['cat', 'dog']);
    const cells = gridCells({ seed: 1, sampler: 'ddim', steps: 4, options: {} }, { kind: 'class', values: ['cat', 'dog'] }, { kind: 'guidance', values: [1, 3] });
    expect(cells.map((c) => [c.class, c.guidance])).toEqual([
      ['cat', 1],
      ['dog', 1],
      ['cat', 3],
      ['dog', 3],
    ]);
  });
});

describe('axis values as typed', () => {
  it('reads comma lists and ranges with steps', () => {
    expect(parseAxisValues('seed', '1, 2,5-7')).toEqual([1, 2, 5, 6, 7]);
    expect(parseAxisValues('steps', '10-40:10')).toEqual([10, 20, 30, 40]);
    expect(parseAxisValues('sampler', 'ddim, euler')).toEqual(['ddim', 'euler']);
  });
  it('says which piece is wrong', () => {
    expect(() => parseAxisValues('seed', '1, x')).toThrow(/seed: "x" is not a whole number/);
    expect(() => parseAxisValues('seed', '5-1')).toThrow(/must go up/);
    expect(() => parseAxisValues('seed', '1-100')).toThrow(/more than 16 values/);
    expect(() => parseAxisValues('steps', ' , ')).toThrow(/at least one value/);
  });
});

describe('cells', () => {
  it('are row-major (y outer) with each axis applied; spacing sets a timestep spacing or a sigma kind', () => {
    const cells = gridCells({ seed: 0, sampler: 'ddim', steps: 10, options: {} }, { kind: 'spacing', values: ['trailing', 'karras'] }, { kind: 'seed', values: [7, 8] });
    expect(cells.map((c) => [c.x, c.y, c.seed, c.options])).toEqual([
      [0, 0, 7, { spacing: 'trailing' }],
      [1, 0, 7, { sigmas: 'karras' }],
      [0, 1, 8, { spacing: 'trailing' }],
      [1, 1, 8, { sigmas: 'karras' }],
    ]);
  });

  it('a sampler axis keeps the base options that sampler has, and goes first so a spacing axis stays', () => {
    const cells = gridCells({ seed: 0, sampler: 'ddim', steps: 10, options: { eta: 0.5, sigmas: 'karras' } as never }, { kind: 'spacing', values: ['trailing'] }, { kind: 'sampler', values: ['ddim', 'euler'] });
    expect(cells.map((c) => [c.sampler, c.options])).toEqual([
      ['ddim', { eta: 0.5, spacing: 'trailing' }],
      ['euler', { sigmas: 'karras', spacing: 'trailing' }],
    ]);
  });
});
