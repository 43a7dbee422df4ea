import { DiffusionConfigError } from '../diffusion/types';
import { AbortError } from '../diffusion/samplers/common';
import type { ApiErrorCode, ApiErrorShape } from './types';

/**
 * The one error type of the contract. It serialises to {code, message, details} for IPC and HTTP,
 * and is rebuilt on the other side, so callers can switch on `code`.
 */
export class ApiError extends Error implements ApiErrorShape {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toJSON(): ApiErrorShape {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }

  /** The same as {@link toApiError} (kept for the renderer, which rebuilds errors from replies). */
  static from(e: unknown): ApiError {
    return toApiError(e);
  }
}

/**
 * Base class of the domain errors above this layer (TrainConfigError, ModelConfigError,
 * DatasetError, ExportError, StorageFullError, WeightsFormatError, OrtError, OnnxModelError,
 * ProtoDecodeError, BackendUnavailableError). Each says once, next to its own codes, which
 * contract code it becomes; {@link toApiError} is the only place that turns it into an ApiError.
 * (The layer order keeps api/ from importing those folders, so the mapping cannot be a table of
 * their classes here; errors of the layer below, diffusion/, are mapped by class directly.)
 */
export abstract class DomainError extends Error {
  /** the contract code this error becomes */
  abstract readonly apiCode: ApiErrorCode;
  /** what the contract shape carries in `details` (a field name, the domain's own code, …) */
  apiDetails(): unknown {
    return undefined;
  }
}

/** errno codes that mean "no room to write here": full disk, quota, read-only file system. */
const NO_SPACE: ReadonlySet<string> = new Set(['ENOSPC', 'EDQUOT', 'EROFS']);

/**
 * THE error mapping: anything thrown (or received over a transport) to the contract's ApiError.
 * The job process, the services, HTTP, IPC, the app protocol and the CLI all use it.
 * - ApiError: as it is;
 * - a DomainError: its declared code and details;
 * - DiffusionConfigError: bad_request with its `field`; AbortError (ours or the platform's): cancelled;
 * - a wire shape `{code, message, details}` with a contract code: rebuilt as it is;
 * - a full disk (ENOSPC, EDQUOT, EROFS): unavailable, saying what to do;
 * - a raw SQLite error: internal, saying what to check;
 * - any other `code` (a Node errno): internal, the code kept in the message and `details`;
 * - anything else: internal with its message.
 * No other code ever comes out, so every transport can map each one (HTTP_STATUS).
 */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof DomainError) return new ApiError(e.apiCode, e.message, e.apiDetails());
  if (e instanceof DiffusionConfigError) return new ApiError('bad_request', e.message, { field: e.field });
  if (e instanceof AbortError || isDomAbort(e)) return new ApiError('cancelled', e.message);
  if (e && typeof e === 'object' && 'code' in e && 'message' in e) {
    const s = e as { code: unknown; message: unknown; details?: unknown };
    const message = String(s.message);
    if (isApiErrorCode(s.code)) return new ApiError(s.code, message, s.details);
    const code = String(s.code);
    if (NO_SPACE.has(code)) {
      return new ApiError('unavailable', `${message}: the disk is full or read-only; nothing was half-written. Free space on that disk and try again.`, { code });
    }
    if (/^SQLITE_/.test(code)) {
      return new ApiError(
        'internal',
        `The library database reported an error (${message.startsWith(code) ? message : `${code}: ${message}`}). Check that the library folder is on a working, writable disk and that no other program holds sfumato.db, then try again; if it keeps happening, report it.`,
        { code },
      );
    }
    return new ApiError('internal', message.includes(code) ? message : `${message} (${code})`, { code });
  }
  if (e instanceof Error) return new ApiError('internal', e.message);
  return new ApiError('internal', String(e));
}

/** The platform's abort (AbortSignal.throwIfAborted, an aborted signal's default reason): a DOMException named AbortError. */
function isDomAbort(e: unknown): e is DOMException {
  return typeof DOMException !== 'undefined' && e instanceof DOMException && e.name === 'AbortError';
}

const API_ERROR_CODES: ReadonlySet<string> = new Set<ApiErrorCode>(['bad_request', 'not_found', 'conflict', 'payload_too_large', 'unauthorized', 'forbidden', 'cancelled', 'unavailable', 'internal']);

export function isApiErrorCode(c: unknown): c is ApiErrorCode {
  return typeof c === 'string' && API_ERROR_CODES.has(c);
}

/** HTTP status for each code (web mode). */
export const HTTP_STATUS: Record<ApiErrorCode, number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  cancelled: 499,
  unavailable: 503,
  internal: 500,
};
