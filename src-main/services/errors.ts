/**
 * The check of a sample origin read from an untrusted file (validateOrigin). Errors are mapped to
 * the contract's shape in one place only: api/errors.ts `toApiError`.
 */
import { ApiError } from '../api/errors';
import { SampleOriginSchema } from '../api/requests';
import type { SampleOrigin } from '../api/types';

/** A sample origin read from an untrusted file: api/requests.ts SampleOriginSchema, as an ApiError naming the field. */
export function validateOrigin(raw: unknown): SampleOrigin {
  const r = SampleOriginSchema.safeParse(raw ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = `origin.${issue.path.join('.') || 'kind'}`;
  throw new ApiError('bad_request', `${field}: ${issue.message}. The image's record was altered; reproduce an unmodified PNG that Sfumato wrote.`, { field });
}
