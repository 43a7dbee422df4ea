import { describe, expect, it } from 'vitest';
import { DatasetError } from '../../../src-main/datasets/errors';
import { mapLimit } from '../../../src-main/datasets/util';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('mapLimit', () => {
  it('keeps input order and never exceeds the limit', async () => {
    let inFlight = 0;
    let peak = 0;
    const out = await mapLimit([5, 1, 4, 2, 3, 0], 2, async (x) => {
      peak = Math.max(peak, ++inFlight);
      await sleep(x);
      inFlight--;
      return x * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30, 0]);
    expect(peak).toBe(2);
  });

  it('rethrows the first error only after started items settle, and starts no more', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    const p = mapLimit([0, 1, 2, 3, 4], 2, async (x) => {
      started.push(x);
      if (x === 0) throw new Error('boom');
      await sleep(20);
      finished.push(x);
      return x;
    });
    await expect(p).rejects.toThrow('boom');
    expect(started).toEqual([0, 1]);
    expect(finished).toEqual([1]);
  });
});

describe('DatasetError', () => {
  it('maps to the contract error codes', () => {
    expect(new DatasetError('cancelled', 'x').toApiError().code).toBe('cancelled');
    expect(new DatasetError('not_found', 'x').toApiError().code).toBe('not_found');
    const e = new DatasetError('no_images', 'none', { errors: [] }).toApiError();
    expect(e.toJSON()).toEqual({ code: 'bad_request', message: 'none', details: { datasetCode: 'no_images', errors: [] } });
    expect(new DatasetError('cache_invalid', 'x').toApiError().code).toBe('internal');
  });
});
