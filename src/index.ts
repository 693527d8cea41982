/**
 * cs231n-ts: the cs231n assignments as a typed TypeScript library.
 * Every public name is exported from here; see the README for the cs231n → cs231n-ts table.
 */
export * from './core/dtype';
export * from './core/check';
export * from './core/tensor';
export * from './core/reduce';
export * from './core/broadcast';
export * from './core/matmul';
export * from './core/random';
export * from './gradientCheck';
export * from './util/progress';
export * from './util/atomicWrite';
export * from './vis/plot';
export * from './vis/report';
