import { ApiError, DomainError, toApiError } from '../api/errors';
import type { ApiErrorCode, ImportErrorCode } from '../api/types';

/**
 * Codes of a {@link DatasetError}.
 * - the per-file codes of the contract (`ImportErrorCode`): thrown by `prepareImage` for one image;
 * - `not_found`, `not_a_folder`, `unreadable`: the folder itself cannot be imported;
 * - `no_images`: the folder holds no usable image (details: `{errors, skipped}`);
 * - `invalid_option`: a bad `size`, `background`, `crop`, … ;
 * - `cancelled`: the AbortSignal fired; nothing was saved;
 * - `cache_invalid`: a dataset cache file is damaged, truncated or from a newer version.
 */
export type DatasetErrorCode =
  | ImportErrorCode
  | 'not_found'
  | 'not_a_folder'
  | 'no_images'
  | 'invalid_option'
  | 'cancelled'
  | 'cache_invalid';

const API_CODE: Record<DatasetErrorCode, ApiErrorCode> = {
  unsupported: 'bad_request',
  corrupt: 'bad_request',
  empty: 'bad_request',
  unreadable: 'bad_request',
  too_large: 'bad_request',
  not_found: 'not_found',
  not_a_folder: 'bad_request',
  no_images: 'bad_request',
  invalid_option: 'bad_request',
  cancelled: 'cancelled',
  cache_invalid: 'internal',
};

/** The one error type of src-main/datasets. Messages say what is wrong and what to do. */
export class DatasetError extends DomainError {
  get apiCode(): ApiErrorCode {
    return API_CODE[this.code];
  }
  /** `{datasetCode, …details}` */
  override apiDetails(): Record<string, unknown> {
    const extra = this.details && typeof this.details === 'object' ? this.details : {};
    return { datasetCode: this.code, ...extra };
  }
  constructor(
    readonly code: DatasetErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'DatasetError';
  }

  /** The contract error for this failure (the one mapping, api/errors.ts toApiError). */
  toApiError(): ApiError {
    return toApiError(this);
  }
}

export function isDatasetError(e: unknown): e is DatasetError {
  return e instanceof DatasetError;
}

/** Throws DatasetError('cancelled') when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new DatasetError('cancelled', `${what} was cancelled; nothing was saved.`);
}
