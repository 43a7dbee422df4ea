/** Comparing runs (src-renderer/src/lib/compare.ts): overlaid losses, preview grids at equal steps. */
import { describe, expect, it } from 'vitest';
import { overlayLosses, previewAt, previewSteps } from '../../../../src-renderer/src/lib/compare';

describe('overlayLosses', () => {
  it('puts every run on the union of steps, null where a run has no loss', () => {
    const a = [
      { step: 1, loss: 1 },
      { step: 2, loss: 0.5 },
      { step: 3, loss: 0.25 },
    ];
    const b = [
      { step: 2, loss: 2 },
      { step: 4, loss: 1 },
    ];
    expect(overlayLosses([a, b])).toEqual({
      x: [1, 2, 3, 4],
      ys: [
        [1, 0.5, 0.25, null],
        [null, 2, null, 1],
      ],
    });
  });

  it('smooths each run over its own points (debiased EMA: the first point is kept)', () => {
    const { ys } = overlayLosses([[{ step: 10, loss: 4 }, { step: 20, loss: 2 }]], 0.5);
    // s1 = 0.5*4 = 2 -> /0.5 = 4; s2 = 0.5*2 + 0.5*2 = 2 -> /0.75 = 8/3
    expect(ys[0][0]).toBeCloseTo(4);
    expect(ys[0][1]).toBeCloseTo(8 / 3);
  });
});

describe('preview grids at equal steps', () => {
  const a = [{ step: 50, file: 'a50' }, { step: 100, file: 'a100' }];
  const b = [{ step: 40, file: 'b40' }, { step: 80, file: 'b80' }, { step: 120, file: 'b120' }];
  it('the scrubber stops at every step some run has a grid', () => {
    expect(previewSteps([a, b])).toEqual([40, 50, 80, 100, 120]);
  });
  it('each run shows its grid at the nearest step at or before the chosen one', () => {
    expect(previewAt(a, 80)?.file).toBe('a50');
    expect(previewAt(b, 80)?.file).toBe('b80');
    expect(previewAt(a, 120)?.file).toBe('a100');
    expect(previewAt(a, 40)).toBeNull();
  });
});
