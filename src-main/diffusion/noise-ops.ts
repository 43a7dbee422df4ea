/**
 * Operations on starting noise for variations and interpolation.
 */
import { DiffusionConfigError } from './types';

/**
 * Spherical linear interpolation between two noise vectors (Shoemake 1985, "Animating rotation
 * with quaternion curves", eq. for slerp): keeps the interpolant on the shell where Gaussian noise
 * of this dimension lives, so midpoints are not attenuated as with a plain lerp. Falls back to
 * lerp when the vectors are (nearly) parallel. As in A1111's variation seeds, t = 0 gives `a`.
 */
export function slerp(a: Float32Array, b: Float32Array, t: number): Float32Array {
  if (a.length !== b.length) throw new DiffusionConfigError('noise', `slerp needs equal lengths, got ${a.length} and ${b.length}`);
  if (!(t >= 0 && t <= 1)) throw new DiffusionConfigError('t', `interpolation position must be in [0, 1], got ${t}`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  const cos = dot / Math.sqrt(na * nb);
  const out = new Float32Array(a.length);
  if (!Number.isFinite(cos) || Math.abs(cos) > 0.9995) {
    for (let i = 0; i < a.length; i++) out[i] = (1 - t) * a[i] + t * b[i];
    return out;
  }
  const theta = Math.acos(cos);
  const s = Math.sin(theta);
  const wa = Math.sin((1 - t) * theta) / s;
  const wb = Math.sin(t * theta) / s;
  for (let i = 0; i < a.length; i++) out[i] = wa * a[i] + wb * b[i];
  return out;
}
