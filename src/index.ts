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
export * from './data/errors';
export * from './data/pickle';
export type { PickledDtype } from './data/pickleNumpy';
export * from './data/cifar';
export * from './data/cifarSplits';
export * from './data/idx';
export * from './data/dataset';
export * from './data/mnistEmbedded';
export * from './data/resolve';
export * from './data/download';
export * from './data/httpFetch';
export * from './vis/grid';
export * from './classifiers';
export * from './features';
export * from './layers';
export * from './optim';
export * from './solver';
export * from './gpu';
export * as dlfs from './dlfs';
export * as nn from './nn';
export * as ops from './ops';
export * as models from './models';
export * as training from './training';
export type { AssignmentScript, ScriptContext, ScriptFamily, ScriptOptions } from './cli/script';
