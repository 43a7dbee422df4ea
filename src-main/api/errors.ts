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

  /**
   * An ApiError from anything thrown or received. Only the contract's own codes are kept: an
   * error with another `code` (a Node errno, a raw `SQLITE_BUSY`) becomes `internal`, its code
   * kept in `details` and in the message, so no transport ever sees a code it cannot map.
   */
  static from(shape: unknown): ApiError {
    if (shape instanceof ApiError) return shape;
    if (shape && typeof shape === 'object' && 'code' in shape && 'message' in shape) {
      const s = shape as { code: unknown; message: unknown; details?: unknown };
      if (isApiErrorCode(s.code)) return new ApiError(s.code, String(s.message), s.details);
      const message = String(s.message);
      const code = String(s.code);
      if (/^SQLITE_/.test(code)) {
        return new ApiError(
          'internal',
          `The library database reported an error (${message.startsWith(code) ? message : `${code}: ${message}`}). Check that the library folder is on a working, writable disk and that no other program holds sfumato.db, then try again; if it keeps happening, report it.`,
          { code },
        );
      }
      return new ApiError('internal', message.includes(code) ? message : `${message} (${code})`, { code });
    }
    if (shape instanceof Error) return new ApiError('internal', shape.message);
    return new ApiError('internal', String(shape));
  }
}

const API_ERROR_CODES: ReadonlySet<string> = new Set<ApiErrorCode>(['bad_request', 'not_found', 'conflict', 'payload_too_large', 'unauthorized', 'cancelled', 'unavailable', 'internal']);

export function isApiErrorCode(c: unknown): c is ApiErrorCode {
  return typeof c === 'string' && API_ERROR_CODES.has(c);
}

/** HTTP status for each code (web mode). */
export const HTTP_STATUS: Record<ApiErrorCode, number> = {
  bad_request: 400,
  unauthorized: 401,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  cancelled: 499,
  unavailable: 503,
  internal: 500,
};
