/**
 * One id syntax (api/ids.ts, re-exported by db/ids.ts) and one sample-origin check
 * (api/requests.ts SampleOriginSchema): the PNG metadata reader and reproduce's validateOrigin
 * accept and refuse exactly the same origins, and every id newId makes passes isId.
 */
import { describe, expect, it } from 'vitest';
import type { SampleOrigin } from '../../../src-main/api/types';
import { parseSfumatoChunk, sfumatoChunkText } from '../../../src-main/gallery/metadata';
import { validateOrigin } from '../../../src-main/services/errors';
import { ID_RE, isId, newId } from '../../../src-main/db/ids';
import { sampleRecord } from '../gallery/helpers';

const SHA = 'ab'.repeat(32);

describe('id syntax', () => {
  it('accepts the ids newId makes, under their own prefix only', () => {
    for (const p of ['ds', 'item', 'run', 'ckpt', 'smp', 'job', 'col', 'model'] as const) {
      const id = newId(p);
      expect(ID_RE.test(id), id).toBe(true);
      expect(isId(p, id), id).toBe(true);
      expect(isId(p === 'smp' ? 'run' : 'smp', id), id).toBe(false);
    }
  });

  it('refuses empty tails, capitals, punctuation, paths and non-strings', () => {
    for (const s of ['smp_', 'smp_ABC', 'smp_a-b', 'smp_a_b', 'smp_../../x', 'smp_1.png', ' smp_a', 'smp_' + 'a'.repeat(65), 7, null]) expect(isId('smp', s), String(s)).toBe(false);
  });
});

describe('one sample-origin check', () => {
  const origins: unknown[] = [
    { kind: 'seed' },
    { kind: 'variation', subseed: 5, strength: 0.3 },
    { kind: 'variation', subseed: 5, strength: 2 },
    { kind: 'variation', subseed: -1, strength: 0.3 },
    { kind: 'interpolation', seedB: 41, t: 0.5 },
    { kind: 'interpolation', seedB: 41 },
    { kind: 'img2img', strength: 0.5, source: { sampleId: 'smp_abc123', sha256: SHA } },
    { kind: 'img2img', strength: 0.5, source: { datasetItemId: 'item_x9', sha256: SHA } },
    { kind: 'img2img', strength: 0.5, source: { sampleId: 'smp_ABC-1', sha256: SHA } },
    { kind: 'img2img', strength: 0.5, source: { sha256: 'xyz' } },
    { kind: 'img2img', strength: 0.5 },
    { kind: 'grid?' },
    { strength: 1 },
  ];

  it('the metadata reader and validateOrigin agree on every origin', () => {
    for (const o of origins) {
      const read = parseSfumatoChunk(sfumatoChunkText(sampleRecord({ origin: o as SampleOrigin })));
      let valid = true;
      try {
        validateOrigin(o);
      } catch {
        valid = false;
      }
      expect(read.record !== undefined, JSON.stringify(o)).toBe(valid);
    }
  });

  it('refusals name the field', () => {
    expect(() => validateOrigin({ kind: 'variation', subseed: 5, strength: 2 })).toThrow(/origin\.strength/);
    expect(() => validateOrigin({ kind: 'nope' })).toThrow(/origin\.kind: "nope" is not one of seed, variation, interpolation, img2img/);
    expect(() => validateOrigin({ kind: 'img2img', strength: 0.5, source: { sha256: 'x' } })).toThrow(/origin\.source\.sha256/);
  });

  it('a record id outside the id syntax is a problem of the metadata reader', () => {
    const r = parseSfumatoChunk(sfumatoChunkText(sampleRecord({ parentId: 'smp_A-1' })));
    expect(r.record).toBeUndefined();
    expect(r.problems.some((p) => p.includes('record.parentId'))).toBe(true);
  });
});
