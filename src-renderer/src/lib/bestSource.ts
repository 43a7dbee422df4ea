/**
 * The Sample page's default model, "the best available", by a rule a user can read in its tooltip
 * (BEST_SOURCE_RULE), in this order:
 * 1. the model or run you last generated with on this device, if it is still there;
 * 2. your newest completed run that trained at least BEST_MIN_STEPS steps at the bundled model's
 *    image size (it has learned about as much as the bundled model, and it is yours);
 * 3. the bundled model;
 * 4. without a bundled model: your newest completed run, else any run with a checkpoint, else an
 *    imported model.
 * A tiny test run never wins over the bundled model just because it is newer.
 */
import type { Run } from '../../../src-main/api/types';

export const BEST_MIN_STEPS = 2000;

export const BEST_SOURCE_RULE =
  `Default: the model you last generated with; otherwise your newest completed run of at least ${BEST_MIN_STEPS.toLocaleString('en')} steps ` +
  `at the bundled model's image size; otherwise the bundled model.`;

export interface SourceLists {
  /** bundled models, manifest order */
  models: readonly { id: string; imageSize: number }[];
  imported: readonly { id: string }[];
  /** runs that have a checkpoint, newest first */
  runs: readonly Pick<Run, 'id' | 'status' | 'step' | 'config'>[];
}

/** The default source (`model:<id>` or `run:<id>`), or '' when there is nothing to sample. */
export function bestSource(lists: SourceLists, lastUsed: string | null, available: ReadonlySet<string>): string {
  if (lastUsed && available.has(lastUsed)) return lastUsed;
  const bundled = lists.models[0];
  const completed = lists.runs.filter((r) => r.status === 'completed');
  if (bundled) {
    const strong = completed.find((r) => r.step >= BEST_MIN_STEPS && r.config.imageSize === bundled.imageSize);
    return strong ? `run:${strong.id}` : `model:${bundled.id}`;
  }
  const run = completed[0] ?? lists.runs[0];
  if (run) return `run:${run.id}`;
  return lists.imported[0] ? `model:${lists.imported[0].id}` : '';
}
