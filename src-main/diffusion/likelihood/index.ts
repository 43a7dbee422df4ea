export * from './pf-ode';
export * from './vlb';
export * from './eight-bit';
export * from './images';
