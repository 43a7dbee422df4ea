/**
 * Comparing runs: loss curves on one step axis, and preview grids at equal steps.
 */
import { emaSmooth } from './smooth';

/**
 * Each run's losses on the union of their steps (uPlot wants one x array): a run has null where it
 * logged no loss (before its first or after its last step), so its line simply ends there. Each
 * series is EMA-smoothed over its own points first (`smoothing` as in lib/smooth.ts).
 */
export function overlayLosses(runs: readonly { step: number; loss: number }[][], smoothing = 0): { x: number[]; ys: (number | null)[][] } {
  const x = [...new Set(runs.flatMap((r) => r.map((p) => p.step)))].sort((a, b) => a - b);
  const at = new Map(x.map((s, i) => [s, i]));
  const ys = runs.map((r) => {
    const y: (number | null)[] = new Array<number | null>(x.length).fill(null);
    const sm = emaSmooth(
      r.map((p) => p.loss),
      smoothing,
    );
    r.forEach((p, i) => (y[at.get(p.step)!] = Number.isFinite(sm[i]) ? sm[i] : null));
    return y;
  });
  return { x, ys };
}

/** Every step at which some run has a preview grid, ascending (the compare scrubber's stops). */
export function previewSteps(runs: readonly { step: number }[][]): number[] {
  return [...new Set(runs.flatMap((r) => r.map((p) => p.step)))].sort((a, b) => a - b);
}

/** A run's preview at `step`: the one at the nearest step at or before it; null when it has none that early. */
export function previewAt<P extends { step: number }>(previews: readonly P[], step: number): P | null {
  let best: P | null = null;
  for (const p of previews) if (p.step <= step && (!best || p.step > best.step)) best = p;
  return best;
}
