export * from './ids.js';
export * from './configuration.js';
export * from './errors.js';
export * from './deployment.js';
export * from './cluster-state.js';
export * from './own.js';
