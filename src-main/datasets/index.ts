/** Dataset import: sniff, scan, prepare, cache. Pure library code (no database, no jobs). */
export * from './errors';
export * from './sniff';
export { DEFAULT_LIMITS, type ImportLimits, type ImageInfo } from './inspect';
export * from './scan';
export * from './preprocess';
export * from './cache';
export * from './import';
