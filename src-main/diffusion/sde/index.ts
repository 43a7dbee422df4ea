export * from './process';
export * from './vp';
export * from './subvp';
export * from './ve';
export * from './edm';
