/** Pure formatting helpers for the pages (no Vue, no api). */

export function formatLoss(loss: number | null | undefined): string {
  if (loss === null || loss === undefined || !Number.isFinite(loss)) return '—';
  return loss < 0.001 ? loss.toExponential(2) : loss.toFixed(4);
}

export function formatRate(stepsPerSec: number | undefined): string {
  if (stepsPerSec === undefined || !Number.isFinite(stepsPerSec)) return '—';
  return stepsPerSec >= 10 ? stepsPerSec.toFixed(0) : stepsPerSec.toFixed(2);
}

/** Seconds as `1h 02m`, `3m 05s` or `12s`. */
export function formatDuration(sec: number | undefined): string {
  if (sec === undefined || !Number.isFinite(sec) || sec < 0) return '—';
  const s = Math.round(sec);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(r).padStart(2, '0')}s`;
  return `${r}s`;
}

/** An ISO date as local date and time, e.g. `2025-11-28 12:30:05`. */
export function formatTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** `done / total` as a percentage 0..100 (0 when the total is unknown). */
export function percent(done: number, total: number): number {
  if (!(total > 0) || !(done >= 0)) return 0;
  return Math.min(100, Math.round((done / total) * 100));
}

/** Parse `1,2,2` into positive integers; throws with a message that says what is expected. */
export function parseIntList(text: string, field: string): number[] {
  const t = text.trim();
  if (t === '' || t.toLowerCase() === 'none') return [];
  const parts = t.split(/[\s,]+/).filter(Boolean);
  const out = parts.map(Number);
  if (out.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error(`${field}: give whole numbers separated by commas, e.g. 1,2 (got "${text}").`);
  }
  return out;
}

/** A random seed in the sampler's range (32-bit unsigned, kept below 2^31 for readability). */
export function randomSeed(): number {
  const a = new Uint32Array(1);
  crypto.getRandomValues(a);
  return a[0] % 2 ** 31;
}
