export * from './spec';
export * from './samplers';
export * from './likelihood';
export * from './metrics';
export * from './svg';
