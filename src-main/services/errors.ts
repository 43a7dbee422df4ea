/**
 * The check of a sample origin read from an untrusted file (validateOrigin). Errors are mapped to
 * the contract's shape in one place only: api/errors.ts `toApiError`.
 */
import { ApiError } from '../api/errors';
import type { SampleOrigin } from '../api/types';

/** A sample origin read from an untrusted file, checked field by field. */
export function validateOrigin(raw: unknown): SampleOrigin {
  const o = (raw ?? {}) as Record<string, unknown>;
  const num = (k: string, lo: number, hi: number) => {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) throw new ApiError('bad_request', `origin.${k} must be a number in [${lo}, ${hi}].`);
    return v;
  };
  switch (o.kind) {
    case 'seed':
      return { kind: 'seed' };
    case 'variation':
      return { kind: 'variation', subseed: num('subseed', 0, 2 ** 53 - 1), strength: num('strength', 0, 1) };
    case 'interpolation':
      return { kind: 'interpolation', seedB: num('seedB', 0, 2 ** 53 - 1), t: num('t', 0, 1) };
    case 'img2img': {
      const src = (o.source ?? {}) as Record<string, unknown>;
      const idOk = (v: unknown) => v === undefined || (typeof v === 'string' && /^[a-z]+_[0-9a-z]{1,40}$/.test(v));
      if (!idOk(src.sampleId) || !idOk(src.datasetItemId) || typeof src.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(src.sha256)) {
        throw new ApiError('bad_request', 'origin.source must name a sample or dataset item and carry a sha256.');
      }
      return {
        kind: 'img2img',
        strength: num('strength', 0, 1),
        source: { sampleId: src.sampleId as string | undefined, datasetItemId: src.datasetItemId as string | undefined, sha256: src.sha256 },
      };
    }
    default:
      throw new ApiError('bad_request', `origin.kind ${JSON.stringify(o.kind)} is not one of seed, variation, interpolation, img2img.`);
  }
}
