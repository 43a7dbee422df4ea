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

  static from(shape: unknown): ApiError {
    if (shape instanceof ApiError) return shape;
    if (shape && typeof shape === 'object' && 'code' in shape && 'message' in shape) {
      const s = shape as ApiErrorShape;
      return new ApiError(s.code, String(s.message), s.details);
    }
    if (shape instanceof Error) return new ApiError('internal', shape.message);
    return new ApiError('internal', String(shape));
  }
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
