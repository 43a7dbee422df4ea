/**
 * Editing a custom log-SNR curve without ever leaving the set of valid curves (the trainer's rule,
 * diffusion/schedules/custom.ts validateLogSnrPoints: t starts at 0, ends at 1 and increases
 * strictly; log-SNR decreases strictly). A drag or a key press that would break the rule is clamped
 * to the nearest valid position instead, so the plots that depend on the curve never vanish mid-drag.
 * Values live on a grid (t in steps of 0.001, log-SNR in steps of 0.01) so the clamped, rounded
 * result is still strictly monotone. No Vue here.
 */

export type LogSnrPoints = [number, number][];

/** The editor's range of log-SNR values. */
export const LOGSNR_MIN = -16;
export const LOGSNR_MAX = 16;
/** Smallest gap kept between neighbours: in t (0.005) and in log-SNR (0.01), in grid units. */
const T_GRID = 1000;
const L_GRID = 100;
const T_GAP = 5;
const L_GAP = 1;

const tUnits = (t: number) => Math.round(t * T_GRID);
const lUnits = (l: number) => Math.round(l * L_GRID);
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** True when the points form a curve the trainer accepts and lie in the editor's range. */
export function isValidCurve(points: LogSnrPoints): boolean {
  if (points.length < 2 || points[0][0] !== 0 || points[points.length - 1][0] !== 1) return false;
  for (let i = 0; i < points.length; i++) {
    const [t, l] = points[i];
    if (!Number.isFinite(t) || !Number.isFinite(l) || l < LOGSNR_MIN || l > LOGSNR_MAX) return false;
    if (i > 0 && !(t > points[i - 1][0] && l < points[i - 1][1])) return false;
  }
  return true;
}

/**
 * Move point i towards (t, l): the result is the valid curve nearest to the request. The first and
 * last points keep t = 0 and t = 1; t stays between the neighbours, log-SNR stays below the left
 * neighbour, above the right one and inside [LOGSNR_MIN, LOGSNR_MAX]. When the neighbours leave
 * no room on an axis, that coordinate keeps its current value. Returns a new array.
 */
export function movePoint(points: LogSnrPoints, i: number, t: number, l: number): LogSnrPoints {
  const pts = points.map((p) => [p[0], p[1]] as [number, number]);
  const last = pts.length - 1;
  if (i < 0 || i > last) return pts;
  let tu: number;
  if (i === 0) tu = 0;
  else if (i === last) tu = T_GRID;
  else {
    const lo = tUnits(pts[i - 1][0]) + T_GAP;
    const hi = tUnits(pts[i + 1][0]) - T_GAP;
    tu = lo <= hi ? clamp(tUnits(Number.isFinite(t) ? t : pts[i][0]), lo, hi) : tUnits(pts[i][0]);
  }
  const lo = i < last ? Math.max(lUnits(LOGSNR_MIN), lUnits(pts[i + 1][1]) + L_GAP) : lUnits(LOGSNR_MIN);
  const hi = i > 0 ? Math.min(lUnits(LOGSNR_MAX), lUnits(pts[i - 1][1]) - L_GAP) : lUnits(LOGSNR_MAX);
  const lu = lo <= hi ? clamp(lUnits(Number.isFinite(l) ? l : pts[i][1]), lo, hi) : lUnits(pts[i][1]);
  pts[i] = [tu / T_GRID, lu / L_GRID];
  return pts;
}

/**
 * Insert a point at t with log-SNR as near to l as the neighbours allow. Returns null when there is
 * no room (t too close to an existing point or to the ends, or the neighbours' log-SNR too close).
 */
export function insertPoint(points: LogSnrPoints, t: number, l: number): LogSnrPoints | null {
  const tu = tUnits(t);
  const k = points.findIndex((p) => tUnits(p[0]) > tu);
  if (k <= 0) return null;
  const left = points[k - 1];
  const right = points[k];
  if (tu - tUnits(left[0]) < T_GAP || tUnits(right[0]) - tu < T_GAP) return null;
  const lo = Math.max(lUnits(LOGSNR_MIN), lUnits(right[1]) + L_GAP);
  const hi = Math.min(lUnits(LOGSNR_MAX), lUnits(left[1]) - L_GAP);
  if (lo > hi) return null;
  const pts = points.map((p) => [p[0], p[1]] as [number, number]);
  pts.splice(k, 0, [tu / T_GRID, clamp(lUnits(l), lo, hi) / L_GRID]);
  return pts;
}

/** Remove an inner point (the ends stay). Removing a point keeps a valid curve valid. */
export function removePoint(points: LogSnrPoints, i: number): LogSnrPoints {
  if (i <= 0 || i >= points.length - 1 || points.length <= 2) return points.map((p) => [p[0], p[1]] as [number, number]);
  return points.filter((_, k) => k !== i).map((p) => [p[0], p[1]] as [number, number]);
}
