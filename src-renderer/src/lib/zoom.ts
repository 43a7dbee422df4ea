/**
 * Zoom for the image viewer. Samples are 16–64 px, so the viewer only ever scales by whole numbers
 * (1×..16×) with nearest-neighbour sampling: every source pixel becomes an exact k×k block, no
 * blur, no uneven rows. "Fit" is the largest whole zoom at which the image (or, side by side, both
 * images) fits the stage.
 */

export const MIN_ZOOM = 1;
export const MAX_ZOOM = 16;

export type Zoom = number | 'fit';

/** Clamp to a whole zoom level in [MIN_ZOOM, MAX_ZOOM]. */
export function clampZoom(z: number): number {
  if (!Number.isFinite(z)) return MIN_ZOOM;
  return Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, Math.floor(z)));
}

/**
 * The largest whole zoom at which `panes` images of imgW×imgH, laid out in a row with `gap` px
 * between them, fit a stage of stageW×stageH (never below 1×: a huge image scrolls instead).
 */
export function fitZoom(stageW: number, stageH: number, imgW: number, imgH: number, panes = 1, gap = 0): number {
  if (imgW <= 0 || imgH <= 0) return MIN_ZOOM;
  const perPaneW = (stageW - gap * (panes - 1)) / panes;
  return clampZoom(Math.min(perPaneW / imgW, stageH / imgH));
}

/** One step in or out from the zoom now shown (`current` is what "fit" resolved to). */
export function stepZoom(current: number, dir: 1 | -1): number {
  return clampZoom(current + dir);
}
