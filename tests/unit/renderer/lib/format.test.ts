/** The pages' formatting helpers (src-renderer/src/lib/format.ts). */
import { describe, expect, it } from 'vitest';
import { formatDuration, formatLoss, formatRate, formatTime, parseIntList, percent, randomSeed } from '../../../../src-renderer/src/lib/format';

describe('format', () => {
  it('losses: four decimals, exponent below 0.001, a dash for none', () => {
    expect(formatLoss(0.12345)).toBe('0.1235');
    expect(formatLoss(0.001)).toBe('0.0010');
    expect(formatLoss(0.00042)).toBe('4.20e-4');
    for (const v of [null, undefined, NaN, Infinity]) expect(formatLoss(v)).toBe('—');
  });

  it('rates: whole numbers from 10/s, two decimals below', () => {
    expect(formatRate(12.6)).toBe('13');
    expect(formatRate(2.5)).toBe('2.50');
    expect(formatRate(10)).toBe('10');
    expect(formatRate(undefined)).toBe('—');
  });

  it('durations: hours and minutes, minutes and seconds, or seconds', () => {
    expect(formatDuration(3725)).toBe('1h 02m');
    expect(formatDuration(185)).toBe('3m 05s');
    expect(formatDuration(12.4)).toBe('12s');
    expect(formatDuration(59.6)).toBe('1m 00s');
    expect(formatDuration(-1)).toBe('—');
    expect(formatDuration(undefined)).toBe('—');
  });

  it('times: local date and time; an unparseable string as it is', () => {
    const iso = new Date(2025, 10, 28, 12, 30, 5).toISOString();
    expect(formatTime(iso)).toBe('2025-11-28 12:30:05');
    expect(formatTime('yesterday')).toBe('yesterday');
  });

  it('percent: 0..100, 0 while the total is unknown', () => {
    expect(percent(1, 3)).toBe(33);
    expect(percent(2, 3)).toBe(67);
    expect(percent(5, 4)).toBe(100);
    expect(percent(3, 0)).toBe(0);
    expect(percent(-1, 10)).toBe(0);
  });

  it('integer lists: commas or spaces, "none" or empty for no entries, a message naming the field otherwise', () => {
    expect(parseIntList('1,2, 2', 'channel multipliers')).toEqual([1, 2, 2]);
    expect(parseIntList(' 8 16 ', 'attention')).toEqual([8, 16]);
    expect(parseIntList('None', 'attention')).toEqual([]);
    expect(parseIntList('', 'attention')).toEqual([]);
    expect(() => parseIntList('1,0', 'channel multipliers')).toThrow('channel multipliers: give whole numbers separated by commas, e.g. 1,2 (got "1,0").');
    expect(() => parseIntList('1.5', 'attention')).toThrow(/^attention: /);
  });

  it('random seeds are whole numbers below 2^31', () => {
    const seeds = Array.from({ length: 200 }, randomSeed);
    for (const s of seeds) expect(Number.isInteger(s) && s >= 0 && s < 2 ** 31).toBe(true);
    expect(new Set(seeds).size).toBeGreaterThan(190);
  });
});
