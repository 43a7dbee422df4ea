/**
 * Strict parsing of CLI flag values: every refusal is a UsageError (exit code 2) that names the
 * flag, says what it needs and shows what was given.
 */

/** Thrown for bad usage: exit code 2. */
export class UsageError extends Error {}

/**
 * A whole number. No CLI flag takes a negative integer (counts, sizes, steps, seeds, ports), so
 * negatives are refused here unless `allowNegative` is set.
 */
export function parseIntStrict(name: string, { allowNegative = false } = {}) {
  return (v: string): number => {
    if (!/^-?\d+$/.test(v.trim())) throw new UsageError(`--${name} must be an integer (got "${v}")`);
    const n = Number(v);
    if (!allowNegative && n < 0) throw new UsageError(`--${name} must be an integer of 0 or more (got "${v}")`);
    if (!Number.isSafeInteger(n)) throw new UsageError(`--${name} must be an integer below 2^53 (got "${v}")`);
    return n;
  };
}

/** A finite number. */
export function parseNum(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} must be a number (got "${v}")`);
    return n;
  };
}

/** A comma-separated list of non-negative integers; an empty value is the empty list. */
export function parseList(name: string) {
  return (v: string): number[] => {
    if (v.trim() === '') return [];
    return v.split(',').map((x) => parseIntStrict(name)(x));
  };
}

/** A comma-separated list of words (tags); undefined when not given. */
export function parseWords(v?: string): string[] | undefined {
  return v ? v.split(',').map((x) => x.trim()).filter(Boolean) : undefined;
}

/** A schedule flag: a preset name, or a JSON object when it starts with `{`. */
export function parseScheduleArg(v: unknown): unknown {
  if (typeof v !== 'string' || !v.trim().startsWith('{')) return v;
  try {
    return JSON.parse(v);
  } catch (e) {
    throw new UsageError(`--schedule: not valid JSON (${(e as Error).message}).`);
  }
}
