/** The Sample page's default model (src-renderer/src/lib/bestSource.ts). */
import { describe, expect, it } from 'vitest';
import { BEST_MIN_STEPS, BEST_SOURCE_RULE, bestSource } from '../../../../src-renderer/src/lib/bestSource';
import { run, trainConfig } from '../helpers/fixtures';

const bundled = [{ id: 'emoji-32', imageSize: 32 }];
const all = (ids: string[]) => new Set(ids);

describe('bestSource', () => {
  it('the bundled model beats a newer tiny run', () => {
    const runs = [run('run_tiny', { step: 300, config: trainConfig({ imageSize: 32 }) })];
    expect(bestSource({ models: bundled, imported: [], runs }, null, all([])), 'tiny run').toBe('model:emoji-32');
  });

  it('a completed run of at least BEST_MIN_STEPS steps at the bundled size wins; the newest such', () => {
    const runs = [
      run('run_other_size', { step: 5000, config: trainConfig({ imageSize: 16 }) }),
      run('run_cancelled', { step: 5000, status: 'cancelled', config: trainConfig({ imageSize: 32 }) }),
      run('run_long', { step: BEST_MIN_STEPS, config: trainConfig({ imageSize: 32 }) }),
      run('run_older_long', { step: 9000, config: trainConfig({ imageSize: 32 }) }),
    ];
    expect(bestSource({ models: bundled, imported: [], runs }, null, all([]))).toBe('run:run_long');
    expect(bestSource({ models: bundled, imported: [], runs: runs.slice(0, 2) }, null, all([]))).toBe('model:emoji-32');
  });

  it('the last-used source wins while it is still offered', () => {
    const lists = { models: bundled, imported: [], runs: [run('run_a', { step: 10 })] };
    expect(bestSource(lists, 'run:run_a', all(['model:emoji-32', 'run:run_a']))).toBe('run:run_a');
    expect(bestSource(lists, 'run:gone', all(['model:emoji-32', 'run:run_a']))).toBe('model:emoji-32');
  });

  it('without a bundled model: the newest completed run, else any run, else an imported model, else nothing', () => {
    const runs = [run('run_failed', { status: 'failed', step: 3 }), run('run_done', { step: 5 })];
    expect(bestSource({ models: [], imported: [], runs }, null, all([]))).toBe('run:run_done');
    expect(bestSource({ models: [], imported: [], runs: runs.slice(0, 1) }, null, all([]))).toBe('run:run_failed');
    expect(bestSource({ models: [], imported: [{ id: 'model_x' }], runs: [] }, null, all([]))).toBe('model:model_x');
    expect(bestSource({ models: [], imported: [], runs: [] }, null, all([]))).toBe('');
  });

  it('the tooltip states the rule with its number', () => {
    expect(BEST_SOURCE_RULE).toContain('2,000 steps');
    expect(BEST_SOURCE_RULE).toContain('last generated with');
  });
});
