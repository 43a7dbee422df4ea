import { ApiError } from '../api';

/** The text to show inline for a failed call: the ApiError's message (it says what to do). */
export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}
