export * from './channels';
export * from './errors';
export * from './requests';
export * from './types';
